"""The one retry policy: up to two retries on the same deployment, then give up (the router falls back).

The SDKs' own retries are off (`max_retries=0`, boto3 `total_max_attempts=1`), so a call never makes
more requests than this loop allows. A provider's `retry-after` (or `retry-after-ms`) is honoured up to
`ProviderOptions.retry_after_cap`; without one the pause doubles from `ProviderOptions.backoff`.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING

import anyio

from polyroute import sendgate
from polyroute.errors import ProviderError
from polyroute.providers.base import ProviderOptions, elapsed_ms
from polyroute.types import Attempt, Completion, CompletionRequest

if TYPE_CHECKING:
    from polyroute.catalog import Deployment
    from polyroute.providers import Providers

log = logging.getLogger("polyroute.providers")


def pause_before_retry(error: ProviderError, retry: int, options: ProviderOptions) -> float:
    """Seconds to wait before retry number `retry` (0-based): the provider's word, capped, else backoff."""
    if error.retry_after is not None:
        return min(error.retry_after, options.retry_after_cap)
    return min(options.backoff * (2**retry) * random.uniform(0.5, 1.0), options.retry_after_cap)


async def call_with_retries(
    providers: Providers, deployment: Deployment, request: CompletionRequest, *, max_retries: int = 2
) -> tuple[Completion, list[Attempt]]:
    """The completion and every attempt made for it.

    On final failure raises the last ProviderError with `.attempts` (list[Attempt]) set. A missing key
    raises ConfigError before any request is made.
    """
    provider = providers.for_deployment(deployment)
    attempts: list[Attempt] = []
    for retry in range(max_retries + 1):
        start = time.perf_counter()
        try:
            completion = await provider.complete(deployment, request)
        except ProviderError as error:
            attempts.append(_failed(deployment, error, elapsed_ms(start)))
            if not error.retryable or retry == max_retries or sendgate.failure() is not None:
                error.attempts = attempts
                raise
            pause = pause_before_retry(error, retry, providers.options)
            log.info("retrying %s in %.2fs after: %s", deployment.id, pause, error)
            await anyio.sleep(pause)
        else:
            attempts.append(Attempt(deployment=deployment.id, ok=True, latency_ms=completion.latency_ms))
            return completion, attempts
    raise AssertionError("unreachable: the loop returns or raises")


def _failed(deployment: Deployment, error: ProviderError, latency_ms: float) -> Attempt:
    return Attempt(
        deployment=deployment.id,
        ok=False,
        error=str(error),
        status=error.status,
        retryable=error.retryable,
        latency_ms=latency_ms,
    )
