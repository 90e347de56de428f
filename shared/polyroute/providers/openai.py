"""OpenAI Chat Completions through the `openai` SDK: OpenAI itself, Azure OpenAI, any compatible base URL.

The regional host of a `data_residency` deployment is resolved here rather than with the SDK's own
`data_residency=` argument, because that argument beats `OPENAI_BASE_URL` and would make such a
deployment impossible to point at a local endpoint. Precedence: the deployment's `base_url`, then
`OPENAI_BASE_URL`, then `https://{region}.api.openai.com/v1`. An `openai_compatible` deployment is
reached only at its own `base_url`: falling back to OPENAI_BASE_URL could send in-country data elsewhere.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, cast

from polyroute import sendgate
from polyroute.catalog import Deployment
from polyroute.errors import ConfigError
from polyroute.providers import chatwire
from polyroute.providers.base import (
    ProviderOptions,
    elapsed_ms,
    http_error,
    malformed_error,
    parse_retry_after,
    timeout_error,
)
from polyroute.types import Completion, CompletionRequest

AZURE_API_VERSION = "2024-10-21"  # GA version; a deployment's `api_version` or OPENAI_API_VERSION overrides
KEYLESS = "not-needed"  # what a keyless local endpoint (vLLM, Ollama) is sent: the SDK insists on a key


def base_url(deployment: Deployment) -> str | None:
    """The endpoint a deployment is called at (None: the SDK's default, api.openai.com)."""
    if deployment.base_url:
        return deployment.base_url
    if deployment.provider == "azure_openai":
        endpoint = os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ConfigError(f"deployment {deployment.id!r} needs a base_url or AZURE_OPENAI_ENDPOINT")
        if deployment.origin == "bundled" and "ANY" not in deployment.processing_locations:
            # One variable serves every Azure deployment alike, but where a call runs depends on the
            # resource and deployment type behind it: a bundled regional claim cannot vouch for it.
            raise ConfigError(
                f"deployment {deployment.id!r} promises regional processing, which depends on your Azure "
                "resource: AZURE_OPENAI_ENDPOINT is shared by every Azure deployment, so declare this id in "
                "config with its own base_url (and api_model = your Azure deployment name)"
            )
        return endpoint
    if deployment.provider == "openai_compatible":  # never OPENAI_BASE_URL: a sovereign endpoint is its own
        raise ConfigError(f"deployment {deployment.id!r} is openai_compatible and needs a base_url")
    if os.environ.get("OPENAI_BASE_URL"):
        return os.environ["OPENAI_BASE_URL"]
    region = deployment.data_residency
    if region and region != "global":
        if not re.fullmatch(r"[a-z]{2,10}", region):
            raise ConfigError(f"deployment {deployment.id!r}: data_residency {region!r} is not a region name")
        return f"https://{region}.api.openai.com/v1"
    return None


class OpenAIProvider:
    """One OpenAI-style endpoint (kind + base URL + key), shared by the deployments that use it."""

    def __init__(
        self,
        *,
        kind: str,
        api_key: str | None,
        url: str | None,
        api_version: str | None,
        options: ProviderOptions,
    ) -> None:
        import httpx2  # the SDK's own HTTP library: `post` hands its response back as is
        import openai

        self._sdk = openai
        self._response_type = httpx2.Response
        self._key = api_key
        self.name = kind
        timeout = openai.Timeout(options.timeout, connect=options.connect_timeout)
        http = openai.DefaultAsyncHttpxClient(timeout=timeout, event_hooks=sendgate.request_hooks())
        if kind == "azure_openai":
            version = api_version or os.environ.get("OPENAI_API_VERSION") or AZURE_API_VERSION
            self._client: Any = openai.AsyncAzureOpenAI(
                azure_endpoint=url or "", api_key=api_key, api_version=version, max_retries=0,
                timeout=timeout, http_client=http,
            )  # fmt: skip
        else:
            self._client = openai.AsyncOpenAI(
                api_key=api_key or KEYLESS, base_url=url, max_retries=0, timeout=timeout, http_client=http
            )

    async def complete(self, deployment: Deployment, request: CompletionRequest) -> Completion:
        """One Chat Completions call, sent through the SDK's client as `post` (see chatwire.py)."""
        sdk = self._sdk
        body = chatwire.request_body(deployment, request)
        start = time.perf_counter()
        try:
            response = await self._client.post("/chat/completions", body=body, cast_to=self._response_type)
            raw = await response.aread()
            answer = chatwire.Answer.read(raw)
        except sdk.APIStatusError as error:
            raise self._status_error(deployment, error) from None
        except sdk.APITimeoutError:
            raise timeout_error(self.name, deployment) from None
        except sdk.APIConnectionError as error:
            raise timeout_error(self.name, deployment, reset=True, cause=error) from None
        except (sdk.APIResponseValidationError, ValueError):
            raise malformed_error(self.name, deployment) from None
        request_id = response.headers.get("x-request-id")
        return self._completion(deployment, answer, request_id, elapsed_ms(start))

    def _status_error(self, deployment: Deployment, error: Any) -> Exception:
        raw: object = error.body
        body = cast(dict[str, Any], raw) if isinstance(raw, dict) else {}
        return http_error(
            self.name,
            deployment,
            int(error.status_code),
            code=error.code or error.type,
            message=str(body.get("message") or ""),
            retry_after=parse_retry_after(error.response.headers),
            key=self._key,
        )

    def _completion(
        self, deployment: Deployment, answer: chatwire.Answer, request_id: str | None, latency_ms: float
    ) -> Completion:
        return Completion(
            text=answer.text,
            stop_reason=answer.stop_reason,
            usage=answer.usage,
            deployment=deployment.id,
            provider=self.name,
            model=answer.model or deployment.api_model,
            request_id=request_id,
            latency_ms=latency_ms,
        )

    async def aclose(self) -> None:
        await self._client.close()
