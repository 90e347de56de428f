"""The argument types the tools share, named exactly as DESIGN §3 fixes them.

One definition per argument keeps every tool's schema (names, descriptions, limits) identical, so an
assistant that learnt `jurisdiction` on one server uses it the same way on the next.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

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
MaxTokens = Annotated[int, Field(ge=1, le=1_000_000, description="the most output tokens to allow")]
ModelPin = Annotated[
    str | None,
    Field(description="a deployment id (exactly that one) or a model name (any compliant deployment of it)"),
]
Strategy = Annotated[
    Literal["cheapest", "fastest", "best", "balanced"] | None,
    Field(description="how to rank compliant deployments; default: the config's (balanced)"),
]
ResponseFormat = Annotated[Literal["text", "json"], Field(description="'json' asks for a JSON answer")]
Temperature = Annotated[float | None, Field(ge=0, le=2, description="sampling temperature")]


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
