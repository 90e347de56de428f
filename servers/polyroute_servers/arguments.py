"""The argument types the tools share, named exactly as DESIGN §3 fixes them.

One definition per argument keeps every tool's schema (names, descriptions, limits) identical, so an
assistant that learnt `jurisdiction` on one server uses it the same way on the next.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails

from polyroute.catalog import Capability
from polyroute.types import CompletionRequest, Message

DeploymentId = Annotated[
    str, Field(description="catalog deployment id, e.g. 'bedrock-eu-claude-sonnet-4-6' (see list_models)")
]
Jurisdiction = Annotated[
    str,
    Field(description="the data's jurisdiction: ISO country or zone, e.g. SA, AE, AE-DIFC, EU, GB, US"),
]
DataClass = Annotated[
    str,
    Field(
        description="the data's class: public, internal, confidential, personal, sensitive_personal, "
        "financial_regulated, health, government_restricted or government_secret"
    ),
]
OptionalJurisdiction = Annotated[
    str | None,
    Field(description="ISO country or zone, e.g. SA, AE, EU, GB, US; default: the config's [defaults]"),
]
OptionalDataClass = Annotated[
    str | None,
    Field(description="data class, e.g. public, personal, government_secret; default: the config's"),
]
Require = Annotated[
    list[Capability],
    Field(description="capabilities the deployment must have: vision, json, reasoning, arabic, …"),
]
Prompt = Annotated[str | None, Field(description="the user prompt (give this or messages)")]
Messages = Annotated[
    list[Message] | None,
    Field(description="the conversation, for multi-turn or image input (give this or prompt)"),
]
System = Annotated[str | None, Field(description="system prompt")]
# Counts and flags are strict (`strict=True`): `true` is not 1 and "10" is not 10. A client that sends
# them so has mixed up its arguments, and a silently coerced token count would quote the wrong request.
MaxTokens = Annotated[
    int, Field(strict=True, ge=1, le=1_000_000, description="the most output tokens to allow")
]
ModelPin = Annotated[
    str | None,
    Field(description="a deployment id (exactly that one) or a model name (any compliant deployment of it)"),
]
Strategy = Annotated[
    Literal["cheapest", "fastest", "best", "balanced"] | None,
    Field(description="how to rank compliant deployments; default: the config's (balanced)"),
]
ResponseFormat = Annotated[Literal["text", "json"], Field(description="'json' asks for a JSON answer")]
Temperature = Annotated[float | None, Field(strict=True, ge=0, le=2, description="sampling temperature")]


def completion_request(
    prompt: str | None,
    messages: list[Message] | None,
    *,
    system: str | None,
    max_tokens: int,
    response_format: Literal["text", "json"] = "text",
    temperature: float | None = None,
) -> CompletionRequest:
    """Exactly one of `prompt` or `messages`, as a provider-neutral request."""
    if (prompt is None) == (messages is None):
        raise ToolError("give either prompt or messages, not both and not neither")
    if messages is not None and not messages:
        raise ToolError("messages is empty; give at least one message")
    return CompletionRequest(
        messages=messages if messages is not None else [Message(role="user", content=prompt or "")],
        system=system,
        max_tokens=max_tokens,
        response_format=response_format,
        temperature=temperature,
    )


# pydantic's error types → the plain words a person needs ("must be …"); anything else keeps its own text.
_NOUNS = {
    "string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
    "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
    "datetime_type": "an RFC 3339 date-time, e.g. 2026-11-25T09:00:00Z",
    "datetime_parsing": "an RFC 3339 date-time, e.g. 2026-11-25T09:00:00Z",
    "datetime_from_date_parsing": "an RFC 3339 date-time, e.g. 2026-11-25T09:00:00Z",
}  # fmt: skip
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most"),
           "greater_than": ("gt", "more than"), "less_than": ("lt", "less than")}  # fmt: skip


def describe_validation(error: ValidationError) -> str:
    """A pydantic error as one plain line naming each bad argument, without echoing the values sent.

    Union branches (`str`, `list[...]`) are folded into the argument's own path, and a branch that failed
    only because another one got further is dropped, so `content` reads "must be a string or a list"."""
    found: dict[str, list[str]] = {}
    for item in error.errors():
        found.setdefault(_where(item["loc"]), []).append(_phrase(item))
    deeper = [where for where in found if any(o.startswith((where + ".", where + "[")) for o in found)]
    lines = [_join(where, phrases) for where, phrases in found.items() if where not in deeper]
    more = f" (+{len(lines) - 5} more)" if len(lines) > 5 else ""
    return "; ".join(lines[:5]) + more


def _where(loc: tuple[int | str, ...]) -> str:
    """`messages[0].content[0].data`: union branch labels and tagged-union tags left out."""
    path, tag_next = "", False
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif tag_next:
            tag_next = False
        elif "[" in part or part in ("str", "int", "float", "bool", "list", "dict", "none"):
            tag_next = "tagged-union[" in part  # after its list index comes the tag, e.g. 'image'
        else:
            path += f".{part}" if path else part
    return path or "arguments"


def _phrase(item: ErrorDetails) -> str:
    kind, context = item["type"], item.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind in _NOUNS:
        return f"must be {_NOUNS[kind]}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {context.get(key)}"
    if kind in ("literal_error", "enum"):
        return f"must be {context.get('expected')}"
    if kind == "string_too_short":
        return "must not be empty" if context.get("min_length") == 1 else f"is too short: {item['msg']}"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "union_tag_invalid":
        return f"has an unknown type; it must be one of {context.get('expected_tags')}"
    message = str(item["msg"]).rstrip(".")
    if message.startswith("Input should be "):
        return "must be " + message.removeprefix("Input should be ")
    return f": {message}"


def _join(where: str, phrases: list[str]) -> str:
    unique = list(dict.fromkeys(phrases))
    if len(unique) > 1 and all(phrase.startswith("must be ") for phrase in unique):
        return f"{where} must be " + " or ".join(phrase.removeprefix("must be ") for phrase in unique)
    return "; ".join(f"{where}{'' if phrase.startswith(':') else ' '}{phrase}" for phrase in unique)
