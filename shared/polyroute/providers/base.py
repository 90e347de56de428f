"""What every adapter shares: the `Provider` protocol, options, and the mapping of failures onto errors.py.

Retryable: 408/409/429 and 5xx (Anthropic's 529 overloaded included), timeouts, resets and malformed
answers. Final: other 4xx, and the 429s that say "stop paying" rather than "slow down" (Anthropic's
`enforced_spend_limit_reached`, OpenAI's `insufficient_quota`). Every message passes through
`secrets.redact`, because provider error bodies may quote a (masked) key.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from polyroute.catalog import Deployment
from polyroute.errors import ConfigError, ProviderError, ProviderHTTPError, ProviderTimeout
from polyroute.secrets import redact
from polyroute.types import Completion, CompletionRequest

RETRYABLE_STATUS = frozenset({408, 409, 429})
FINAL_CODES = frozenset({"enforced_spend_limit_reached", "insufficient_quota"})
JSON_INSTRUCTION = "Respond with one valid JSON object and nothing else."


class Provider(Protocol):
    """One provider endpoint; `complete` is one attempt (no retries: `call_with_retries` owns those)."""

    async def complete(self, deployment: Deployment, request: CompletionRequest) -> Completion:
        """One attempt, no retries; raises ProviderHTTPError / ProviderTimeout / ProviderError."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ProviderOptions:
    """Timeouts and the retry policy's limits, in seconds."""

    timeout: float = 120.0
    connect_timeout: float = 5.0
    retry_after_cap: float = 10.0  # never sleep longer than this on a provider's say-so
    backoff: float = 0.5  # first pause when the provider names none; doubles per retry

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProviderOptions:
        """Defaults, overridden by POLYROUTE_PROVIDER_TIMEOUT and POLYROUTE_RETRY_AFTER_CAP (seconds)."""
        values: dict[str, float] = {}
        for variable, field in (
            ("POLYROUTE_PROVIDER_TIMEOUT", "timeout"),
            ("POLYROUTE_RETRY_AFTER_CAP", "retry_after_cap"),
        ):
            raw = env.get(variable)
            if raw:
                try:
                    values[field] = float(raw)
                except ValueError:
                    raise ConfigError(f"{variable} must be a number of seconds, not {raw!r}") from None
                if values[field] <= 0:
                    raise ConfigError(f"{variable} must be a positive number of seconds")
        return cls(**values)


def system_text(request: CompletionRequest) -> str | None:
    """The system prompt, with the JSON instruction added when JSON output was asked for."""
    if request.response_format != "json":
        return request.system
    return f"{request.system}\n\n{JSON_INSTRUCTION}" if request.system else JSON_INSTRUCTION


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if "," in value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def http_error(
    provider: str,
    deployment: Deployment,
    status: int,
    *,
    code: str | None,
    message: str | None,
    retry_after: float | None,
    key: str | None,
) -> ProviderHTTPError:
    """A provider's error status as a ProviderHTTPError, classified retryable or final."""
    retryable = (status in RETRYABLE_STATUS or status >= 500) and code not in FINAL_CODES
    what = f"{status} {code}" if code else str(status)
    detail = redact(" ".join((message or "").split()), key)[:240]  # scrubbed before a cut could split a key
    text = redact(f"{provider} ({deployment.id}) answered {what}" + (f": {detail}" if detail else ""), key)
    return ProviderHTTPError(
        text, deployment=deployment.id, retryable=retryable, retry_after=retry_after, status=status, code=code
    )


def timeout_error(
    provider: str, deployment: Deployment, *, reset: bool = False, cause: BaseException | None = None
) -> ProviderTimeout:
    """A timeout or lost connection (retryable); `cause` tells a refused connection (a wrong base URL,
    a server that is down) from one dropped mid-call, which need different fixes."""
    what = "dropped the connection" if reset else "did not answer in time"
    if reset and _refused(cause):
        what = "could not connect to its endpoint (wrong base URL, or the server is down?)"
    return ProviderTimeout(f"{provider} ({deployment.id}) {what}", deployment=deployment.id, retryable=True)


def _refused(error: BaseException | None) -> bool:
    names = ("ConnectError", "ConnectionRefusedError", "EndpointConnectionError", "NewConnectionError")
    seen = 0
    while error is not None and seen < 10:
        if type(error).__name__ in names:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def malformed_error(provider: str, deployment: Deployment) -> ProviderError:
    """A 200 whose body the SDK could not read: retried, since it is usually a broken proxy or a blip."""
    message = f"{provider} ({deployment.id}) returned a malformed response"
    return ProviderError(message, deployment=deployment.id, retryable=True)


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
