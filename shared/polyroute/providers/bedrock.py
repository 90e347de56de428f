"""AWS Bedrock Converse through boto3, kept off the event loop with `anyio.to_thread`.

The region comes from the deployment (`aws_region`); the model id may be a cross-region profile
(`eu.…`, `global.…`), sent as it is. Credentials come from boto3's own chain. boto3's retries are
switched off (`total_max_attempts=1`: its `max_attempts` counts retries in legacy mode and made two
calls), so the one retry policy stays ours.
"""

from __future__ import annotations

import base64
import importlib
import os
import time
from typing import Any

import anyio.to_thread

from polyroute.catalog import Deployment
from polyroute.errors import ProviderError
from polyroute.providers.base import (
    ProviderOptions,
    elapsed_ms,
    http_error,
    malformed_error,
    parse_retry_after,
    system_text,
    timeout_error,
)
from polyroute.types import Completion, CompletionRequest, ContentPart, ImagePart, Usage

DEFAULT_REGION = "us-east-1"


def endpoint_url(deployment: Deployment) -> str | None:
    """The deployment's `base_url`, else the variables boto3 reads itself (made explicit for caching)."""
    return (
        deployment.base_url
        or os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


class BedrockProvider:
    """One `bedrock-runtime` client (region + endpoint)."""

    name = "bedrock"

    def __init__(self, *, region: str | None, url: str | None, options: ProviderOptions) -> None:
        # imported untyped: boto3 ships no type stubs
        sessions: Any = importlib.import_module("boto3.session")
        configs: Any = importlib.import_module("botocore.config")
        self._errors: Any = importlib.import_module("botocore.exceptions")
        config = configs.Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=options.connect_timeout,
            read_timeout=options.timeout,
            max_pool_connections=32,
        )
        self._client: Any = sessions.Session().client(
            "bedrock-runtime", region_name=region or DEFAULT_REGION, endpoint_url=url, config=config
        )

    async def complete(self, deployment: Deployment, request: CompletionRequest) -> Completion:
        call = _converse_args(deployment, request)
        start = time.perf_counter()
        try:
            answer: dict[str, Any] = await anyio.to_thread.run_sync(lambda: self._client.converse(**call))
        except self._errors.ClientError as error:
            raise self._client_error(deployment, error.response) from None
        except (self._errors.ReadTimeoutError, self._errors.ConnectTimeoutError):
            raise timeout_error(self.name, deployment) from None
        except (self._errors.EndpointConnectionError, self._errors.ConnectionClosedError,
                self._errors.HTTPClientError) as error:
            raise timeout_error(self.name, deployment, reset=True, cause=error) from None
        except self._errors.NoCredentialsError:
            raise ProviderError(
                f"bedrock ({deployment.id}): no AWS credentials (environment, profile or instance role)",
                deployment=deployment.id,
                code="NoCredentials",
            ) from None
        except (self._errors.ResponseParserError, ValueError):
            raise malformed_error(self.name, deployment) from None
        if "output" not in answer or "usage" not in answer:  # botocore reads a garbled body as {}
            raise malformed_error(self.name, deployment)
        return _completion(deployment, answer, elapsed_ms(start))

    def _client_error(self, deployment: Deployment, response: dict[str, Any]) -> Exception:
        meta: dict[str, Any] = response.get("ResponseMetadata", {})
        error: dict[str, Any] = response.get("Error", {})
        return http_error(
            self.name,
            deployment,
            int(meta.get("HTTPStatusCode") or 500),
            code=error.get("Code"),
            message=error.get("Message"),
            retry_after=parse_retry_after(meta.get("HTTPHeaders")),
            key=os.environ.get("AWS_SECRET_ACCESS_KEY"),  # never echoed by AWS so far; scrubbed if it is
        )

    async def aclose(self) -> None:
        self._client.close()


def _converse_args(deployment: Deployment, request: CompletionRequest) -> dict[str, Any]:
    inference: dict[str, Any] = {"maxTokens": request.max_tokens}
    if request.temperature is not None:
        inference["temperature"] = request.temperature
    call: dict[str, Any] = {
        "modelId": deployment.api_model,
        "messages": [{"role": m.role, "content": _content(m.content)} for m in request.messages],
        "inferenceConfig": inference,
    }
    system = system_text(request)
    if system:
        call["system"] = [{"text": system}]
    return call


def _content(content: str | list[ContentPart]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, ImagePart):
            source = {"bytes": base64.b64decode(part.data)}
            blocks.append({"image": {"format": part.media_type.split("/")[1], "source": source}})
        else:
            blocks.append({"text": part.text})
    return blocks


def _completion(deployment: Deployment, answer: dict[str, Any], latency_ms: float) -> Completion:
    message: dict[str, Any] = answer.get("output", {}).get("message", {})
    usage: dict[str, Any] = answer.get("usage", {})
    meta: dict[str, Any] = answer.get("ResponseMetadata", {})
    return Completion(
        text="".join(block.get("text", "") for block in message.get("content", [])),
        stop_reason=answer.get("stopReason"),
        usage=Usage(
            input_tokens=usage.get("inputTokens", 0),
            output_tokens=usage.get("outputTokens", 0),
            cache_read_tokens=usage.get("cacheReadInputTokens", 0),
            cache_write_tokens=usage.get("cacheWriteInputTokens", 0),
        ),
        deployment=deployment.id,
        provider="bedrock",
        model=deployment.api_model,
        request_id=meta.get("RequestId"),
        latency_ms=latency_ms,
    )
