"""AWS Bedrock through boto3 (Converse, or InvokeModel with the Anthropic Messages body where the
catalog's `bedrock_api` says so), kept off the event loop with `anyio.to_thread`.

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
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from polyroute import sendgate
from polyroute.catalog import Deployment
from polyroute.errors import ProviderError
from polyroute.providers import bedrock_messages, messageswire
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
        """One Converse call, or one InvokeModel call with the Messages body where the catalog says the
        model's documented path is that (`bedrock_api = "invoke"`)."""
        if deployment.bedrock_api == "invoke":
            return await self._invoke(deployment, request)
        call = _converse_args(deployment, request)
        start = time.perf_counter()
        answer = await self._send(deployment, lambda: self._client.converse(**call))
        if "output" not in answer or "usage" not in answer:  # botocore reads a garbled body as {}
            raise malformed_error(self.name, deployment)
        return _completion(deployment, answer, elapsed_ms(start))

    async def _invoke(self, deployment: Deployment, request: CompletionRequest) -> Completion:
        call = bedrock_messages.invoke_args(deployment, request)
        start = time.perf_counter()

        def send() -> dict[str, Any]:
            answer: dict[str, Any] = self._client.invoke_model(**call)
            return {**answer, "body": answer["body"].read()}  # read in the worker thread, not the loop

        answer = await self._send(deployment, send)
        try:
            message = messageswire.read_message(answer["body"])
        except ValueError:
            raise malformed_error(self.name, deployment) from None
        if message is None:
            raise malformed_error(self.name, deployment)
        request_id = answer.get("ResponseMetadata", {}).get("RequestId")
        return messageswire.completion(  # the model is the deployment's: Bedrock's id
            deployment, message, provider=self.name, model=deployment.api_model, request_id=request_id,
            latency_ms=elapsed_ms(start),
        )  # fmt: skip

    async def _send(self, deployment: Deployment, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """One boto3 call off the event loop, its failures mapped onto errors.py (same for both paths);
        it leaves once a routed call's intent is durable (sendgate.py)."""
        await sendgate.passed()
        try:
            return await anyio.to_thread.run_sync(call)
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
    temperature = deployment.temperature_for(request.temperature)
    if temperature is not None:
        inference["temperature"] = temperature
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
