"""The Anthropic Messages body on Bedrock's InvokeModel (`POST /model/{id}/invoke`), for Claude models
whose documented call path is the Messages API rather than Converse.

AWS documents the Messages API on the `bedrock-runtime` endpoint as InvokeModel with the Anthropic
request body plus `"anthropic_version": "bedrock-2023-05-31"` (the model id travels in the path, not
the body), answered with the Anthropic message and its `usage` (`input_tokens`, `output_tokens`,
`cache_read_input_tokens`, `cache_creation_input_tokens`). Sources and check dates: data/deployments.toml
`[sources.bedrock-messages-api]` and `[sources.bedrock-apis]`.
"""

from __future__ import annotations

import json
from typing import Any, cast

from polyroute.catalog import Deployment
from polyroute.providers.base import system_text
from polyroute.types import Completion, CompletionRequest, ContentPart, ImagePart, Usage

ANTHROPIC_VERSION = "bedrock-2023-05-31"


def invoke_args(deployment: Deployment, request: CompletionRequest) -> dict[str, Any]:
    """Keyword arguments for boto3's `invoke_model`: the model id and the JSON Messages body."""
    body: dict[str, Any] = {
        "anthropic_version": ANTHROPIC_VERSION,
        "max_tokens": request.max_tokens,
        "messages": [{"role": m.role, "content": _content(m.content)} for m in request.messages],
    }
    temperature = deployment.temperature_for(request.temperature)
    if temperature is not None:
        body["temperature"] = temperature
    system = system_text(request)
    if system:
        body["system"] = system
    return {
        "modelId": deployment.api_model,
        "body": json.dumps(body).encode(),
        "contentType": "application/json",
        "accept": "application/json",
    }


def _content(content: str | list[ContentPart]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, ImagePart):
            source = {"type": "base64", "media_type": part.media_type, "data": part.data}
            blocks.append({"type": "image", "source": source})
        else:
            blocks.append({"type": "text", "text": part.text})
    return blocks


def read_message(raw: bytes) -> dict[str, Any] | None:
    """The Anthropic message in an InvokeModel answer, or None when it is not one (a broken proxy)."""
    value: Any = json.loads(raw)  # ValueError on a garbled body: the caller reports it as malformed
    if not isinstance(value, dict):
        return None
    message = cast(dict[str, Any], value)
    if not isinstance(message.get("content"), list) or not isinstance(message.get("usage"), dict):
        return None
    return message


def completion(
    deployment: Deployment, message: dict[str, Any], request_id: str | None, latency_ms: float
) -> Completion:
    """The Completion for one Messages answer; usage keeps Anthropic's split of cache reads and writes."""
    usage = cast(dict[str, Any], message["usage"])
    blocks = cast(list[Any], message["content"])
    text = "".join(
        str(block.get("text", ""))
        for block in (cast(dict[str, Any], b) for b in blocks if isinstance(b, dict))
        if block.get("type") == "text"
    )
    return Completion(
        text=text,
        stop_reason=message.get("stop_reason"),
        usage=Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
            cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
        ),
        deployment=deployment.id,
        provider="bedrock",
        model=deployment.api_model,
        request_id=request_id,
        latency_ms=latency_ms,
    )
