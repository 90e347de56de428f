"""Chat Completions on the wire: the request body Polyroute sends and the answer fields it reads.

The OpenAI adapter sends this body through the SDK's generic `post` (its client, auth, headers, Azure
deployment paths, timeouts and error types, all unchanged) rather than `chat.completions.create`,
whose generic parameter transform and typed response construction cost about half a millisecond of
CPU per call: more than the rest of a routed call's bookkeeping. The body is built from plain
Polyroute types, so there is nothing to transform; the answer is read for the few fields a
completion needs, and anything that is not a Chat Completions answer is `MalformedAnswer`.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from polyroute.catalog import Deployment
from polyroute.providers.base import system_text
from polyroute.types import CompletionRequest, ContentPart, ImagePart, Usage


class MalformedAnswer(ValueError):
    """A 2xx answer that is not a Chat Completions object (the adapter maps it onto a retryable error)."""


def request_body(deployment: Deployment, request: CompletionRequest) -> dict[str, Any]:
    """What `chat.completions.create` would send for this request, built directly."""
    tokens = "max_tokens" if deployment.provider == "openai_compatible" else "max_completion_tokens"
    body: dict[str, Any] = {"model": deployment.api_model, "messages": messages(request)}
    body[tokens] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.response_format == "json":
        body["response_format"] = {"type": "json_object"}
    return body


def messages(request: CompletionRequest) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = []
    system = system_text(request)
    if system:
        converted.append({"role": "system", "content": system})
    for message in request.messages:
        if message.role == "user":
            content = message.content if isinstance(message.content, str) else _parts(message.content)
            converted.append({"role": "user", "content": content})
        else:
            converted.append({"role": "assistant", "content": message.text()})
    return converted


def _parts(parts: list[ContentPart]) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ImagePart):
            url = f"data:{part.media_type};base64,{part.data}"
            converted.append({"type": "image_url", "image_url": {"url": url}})
        else:
            converted.append({"type": "text", "text": part.text})
    return converted


class Answer(NamedTuple):
    """The fields of a Chat Completions answer that a `Completion` needs."""

    text: str
    stop_reason: str | None
    usage: Usage
    model: str | None

    @classmethod
    def read(cls, raw: bytes) -> Answer:
        """Raises MalformedAnswer for a body that is not JSON or not a Chat Completions object."""
        try:
            answer = json.loads(raw)
        except ValueError:
            raise MalformedAnswer("not JSON") from None
        if not isinstance(answer, dict):
            raise MalformedAnswer("not a JSON object")
        body: dict[str, Any] = answer  # pyright: ignore[reportUnknownVariableType]
        choices = _field(body, "choices", list, [])
        choice: dict[str, Any] = _item(choices[0]) if choices else {}
        message = _field(choice, "message", dict, {})
        return cls(
            text=_field(message, "content", str, None) or "",
            stop_reason=_field(choice, "finish_reason", str, None),
            usage=_usage(_field(body, "usage", dict, {})),
            model=_field(body, "model", str, None),
        )


def _usage(usage: dict[str, Any]) -> Usage:
    prompt_details = _field(usage, "prompt_tokens_details", dict, {})
    output_details = _field(usage, "completion_tokens_details", dict, {})
    cached = _field(prompt_details, "cached_tokens", int, None) or 0
    reasoning = _field(output_details, "reasoning_tokens", int, None) or 0
    prompt = _field(usage, "prompt_tokens", int, 0)
    return Usage(
        input_tokens=prompt - cached,  # cache reads apart
        output_tokens=_field(usage, "completion_tokens", int, 0),
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


def _item(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAnswer("a choice that is not an object")
    return value  # pyright: ignore[reportUnknownVariableType]


def _field(data: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """`data[name]` if it has the expected JSON type, `default` if absent or null; MalformedAnswer if it
    holds something else (bool is not a number here, as in the API)."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedAnswer(f"{name} is not a {kind.__name__}")
    return value
