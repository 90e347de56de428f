"""Anthropic Messages on the wire: the request body and the answer fields Polyroute reads, shared by
the Anthropic API adapter and Bedrock's InvokeModel path (which sends the same body).

The Anthropic adapter sends this body through the SDK's generic `post` (its client, auth, version
header, timeouts and error types, all unchanged) rather than `messages.create`, whose parameter
transform and typed response construction cost about 0.3 ms of CPU per call for fields built from
plain Polyroute types and an answer of which a completion needs a handful of values.
"""

from __future__ import annotations

import json
from typing import Any, cast

from polyroute.catalog import Deployment
from polyroute.providers.base import system_text
from polyroute.types import Completion, CompletionRequest, ContentPart, ImagePart, Usage


def request_body(deployment: Deployment, request: CompletionRequest) -> dict[str, Any]:
    """The Messages body without `model` (Bedrock puts the model in the path): max_tokens, messages,
    and the temperature (only where the model accepts one) and system text when there are any."""
    body: dict[str, Any] = {"max_tokens": request.max_tokens, "messages": messages(request)}
    temperature = deployment.temperature_for(request.temperature)
    if temperature is not None:
        body["temperature"] = temperature
    system = system_text(request)
    if system:
        body["system"] = system
    return body


def messages(request: CompletionRequest) -> list[dict[str, Any]]:
    """The request's turns as Messages API `messages` (the system text travels apart, as `system`)."""
    return [{"role": m.role, "content": content(m.content)} for m in request.messages]


def content(value: str | list[ContentPart]) -> str | list[dict[str, Any]]:
    if isinstance(value, str):
        return value
    blocks: list[dict[str, Any]] = []
    for part in value:
        if isinstance(part, ImagePart):
            source = {"type": "base64", "media_type": part.media_type, "data": part.data}
            blocks.append({"type": "image", "source": source})
        else:
            blocks.append({"type": "text", "text": part.text})
    return blocks


def read_message(raw: bytes) -> dict[str, Any] | None:
    """The Anthropic message in an answer body, or None when it is not one (a broken proxy)."""
    value: Any = json.loads(raw)  # ValueError on a garbled body: the caller reports it as malformed
    if not isinstance(value, dict):
        return None
    message = cast(dict[str, Any], value)
    if not isinstance(message.get("content"), list) or not isinstance(message.get("usage"), dict):
        return None
    return message


def completion(
    deployment: Deployment,
    message: dict[str, Any],
    *,
    provider: str,
    model: str,
    request_id: str | None,
    latency_ms: float,
) -> Completion:
    """The Completion for one Messages answer; usage keeps Anthropic's split of cache reads and writes,
    and where the answer says where inference ran (`usage.inference_geo`), so does the completion."""
    usage = cast(dict[str, Any], message["usage"])
    blocks = cast(list[Any], message["content"])
    text = "".join(
        str(block.get("text", ""))
        for block in (cast(dict[str, Any], b) for b in blocks if isinstance(b, dict))
        if block.get("type") == "text"
    )
    details: Any = usage.get("output_tokens_details")
    thinking = cast(dict[str, Any], details).get("thinking_tokens") if isinstance(details, dict) else None
    geo = usage.get("inference_geo")
    return Completion(
        text=text,
        stop_reason=message.get("stop_reason"),
        usage=Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
            cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            reasoning_tokens=int(thinking or 0),
        ),
        deployment=deployment.id,
        provider=provider,
        model=model,
        request_id=request_id,
        latency_ms=latency_ms,
        inference_geo=geo if isinstance(geo, str) else None,
    )
