"""The request and response shapes shared by the library, the CLI and the MCP tools.

They are pydantic models because the MCP servers use them as tool schemas as they are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""USD computed in Decimal; in JSON and tool results a plain number, not rounded to cents."""

Role = Literal["user", "assistant"]


def _utf8(text: str) -> str:
    """Refuse text no provider can receive: a lone surrogate (e.g. from a non-UTF-8 terminal)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text is not valid UTF-8 (undecodable character at {error.start})") from None
    return text


Text = Annotated[str, AfterValidator(_utf8)]


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"] = "text"
    text: Text


class ImagePart(BaseModel):
    """An image, base64-encoded (what every provider accepts); needs a `vision` deployment."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["image"] = "image"
    media_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"]
    data: str = Field(description="base64-encoded image bytes")


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    content: Text | list[ContentPart]

    def text(self) -> str:
        """The message's text parts joined; images contribute nothing."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if isinstance(part, TextPart))

    def has_image(self) -> bool:
        return not isinstance(self.content, str) and any(isinstance(p, ImagePart) for p in self.content)


class CompletionRequest(BaseModel):
    """One provider-neutral completion request."""

    model_config = ConfigDict(extra="forbid")
    messages: list[Message] = Field(min_length=1)
    system: Text | None = None
    max_tokens: int = Field(default=1024, ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    response_format: Literal["text", "json"] = "text"

    @classmethod
    def from_prompt(
        cls, prompt: str, *, system: str | None = None, max_tokens: int = 1024
    ) -> CompletionRequest:
        return cls(messages=[Message(role="user", content=prompt)], system=system, max_tokens=max_tokens)

    def text(self) -> str:
        """All text the provider will read (system first), for token counting and digests."""
        parts = [self.system] if self.system else []
        parts += [message.text() for message in self.messages]
        return "\n".join(parts)

    def has_image(self) -> bool:
        return any(message.has_image() for message in self.messages)


class Usage(BaseModel):
    """Token usage as the provider reported it, normalised.

    `input_tokens` excludes cache reads and writes (each adapter converts to this); the request's
    whole input is `input_tokens + cache_read_tokens + cache_write_tokens`. `output_tokens` includes
    `reasoning_tokens`.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


class Completion(BaseModel):
    """One provider answer, normalised."""

    text: str
    stop_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    deployment: str
    provider: str
    model: str = Field(description="the model id the provider says answered")
    request_id: str | None = None
    latency_ms: float = 0.0
    inference_geo: str | None = Field(
        default=None, description="where the provider says inference ran, when it says so"
    )


class Attempt(BaseModel):
    """One try of one deployment: what happened and how long it took."""

    deployment: str
    ok: bool
    error: str | None = None
    status: int | None = None
    retryable: bool = False
    latency_ms: float = 0.0


__all__ = [
    "Attempt",
    "Completion",
    "CompletionRequest",
    "ContentPart",
    "ImagePart",
    "Message",
    "Money",
    "Role",
    "TextPart",
    "Usage",
]
