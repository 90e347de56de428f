"""Anthropic Messages API through the `anthropic` SDK, with the deployment's `inference_geo`.

The response's `usage.inference_geo` says where inference actually ran; it goes into the Completion so
the receipt can compare it with the policy. The SDK is imported when the first adapter is built.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from polyroute import sendgate
from polyroute.catalog import Deployment
from polyroute.providers import messageswire
from polyroute.providers.base import (
    ProviderOptions,
    elapsed_ms,
    http_error,
    malformed_error,
    parse_retry_after,
    system_text,
    timeout_error,
)
from polyroute.types import Completion, CompletionRequest

if TYPE_CHECKING:
    from anthropic.types import MessageParam


class AnthropicProvider:
    """One Anthropic endpoint (base URL + key), shared by every deployment that uses it."""

    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None, options: ProviderOptions) -> None:
        import anthropic
        import httpx2  # the SDK's own HTTP library: `post` hands its response back as is

        self._sdk = anthropic
        self._response_type = httpx2.Response
        self._key = api_key
        timeout = anthropic.Timeout(options.timeout, connect=options.connect_timeout)
        http = anthropic.DefaultAsyncHttpxClient(timeout=timeout, event_hooks=sendgate.request_hooks())
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,  # the one retry policy is ours (providers/retry.py)
            timeout=timeout,
            http_client=http,  # every request waits for the routed call's intent (sendgate.py)
        )

    async def complete(self, deployment: Deployment, request: CompletionRequest) -> Completion:
        """One Messages call, sent through the SDK's client as `post` (see messageswire.py)."""
        sdk = self._sdk
        body = {"model": deployment.api_model, **messageswire.request_body(deployment, request)}
        if deployment.inference_geo:
            body["inference_geo"] = deployment.inference_geo
        start = time.perf_counter()
        try:
            response = await self._client.post("/v1/messages", body=body, cast_to=self._response_type)
            message = messageswire.read_message(await response.aread())
        except sdk.APIStatusError as error:
            raise self._status_error(deployment, error) from None
        except sdk.APITimeoutError:
            raise timeout_error(self.name, deployment) from None
        except sdk.APIConnectionError as error:
            raise timeout_error(self.name, deployment, reset=True, cause=error) from None
        except (sdk.APIResponseValidationError, ValueError):
            raise malformed_error(self.name, deployment) from None
        if message is None or not isinstance(message.get("model"), str):
            raise malformed_error(self.name, deployment)
        return messageswire.completion(
            deployment, message, provider=self.name, model=message["model"],
            request_id=response.headers.get("request-id"), latency_ms=elapsed_ms(start),
        )  # fmt: skip

    async def count_tokens(self, deployment: Deployment, request: CompletionRequest) -> int:
        """Exact input tokens from `POST /v1/messages/count_tokens` (costs nothing, needs a key)."""
        sdk = self._sdk
        try:
            result = await self._client.messages.count_tokens(
                model=deployment.api_model,
                messages=cast("list[MessageParam]", messageswire.messages(request)),
                system=system_text(request) or sdk.omit,
            )
        except sdk.APIStatusError as error:
            raise self._status_error(deployment, error) from None
        except sdk.APIConnectionError as error:
            raise timeout_error(self.name, deployment, reset=True, cause=error) from None
        return result.input_tokens

    def _status_error(self, deployment: Deployment, error: Any) -> Exception:
        return http_error(
            self.name,
            deployment,
            int(error.status_code),
            code=error.error_code or error.type,
            message=error.api_message,
            retry_after=parse_retry_after(error.response.headers),
            key=self._key,
        )

    async def aclose(self) -> None:
        await self._client.close()
