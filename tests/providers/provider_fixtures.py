"""Small builders shared by the provider tests."""

from __future__ import annotations

from typing import Any

import anyio

from polyroute.catalog import Deployment
from polyroute.providers import Providers, call_with_retries
from polyroute.types import Attempt, Completion, CompletionRequest

CANARY = "sk-canary-7f3a9c2e5b8d41XXXX"
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def deployment(provider: str, api_model: str, **fields: Any) -> Deployment:
    base: dict[str, Any] = {
        "id": f"test-{provider}-{api_model}".lower().replace(":", "-").replace("/", "-"),
        "provider": provider,
        "model": api_model,
        "api_model": api_model,
        "processing_locations": ["ANY"],
        "storage_locations": ["US"],
        "context_window": 200_000,
        "max_output_tokens": 8_000,
    }
    return Deployment.model_validate({**base, **fields})


def picture(question: str) -> list[dict[str, Any]]:
    """A user turn's content: the question as text, then a 1-pixel PNG."""
    return [
        {"type": "text", "text": question},
        {"type": "image", "media_type": "image/png", "data": PNG_1PX},
    ]


def picture_conversation(question: str = "Describe") -> list[dict[str, Any]]:
    """A user turn with text and an image, the assistant's answer, and a follow-up question."""
    return [
        {"role": "user", "content": picture(question)},
        {"role": "assistant", "content": "A pixel."},
        {"role": "user", "content": "And?"},
    ]


def request(prompt: str = "Hello from the tests", **fields: Any) -> CompletionRequest:
    return CompletionRequest.model_validate({"messages": [{"role": "user", "content": prompt}], **fields})


def complete(
    providers: Providers, target: Deployment, req: CompletionRequest | None = None, *, max_retries: int = 2
) -> tuple[Completion, list[Attempt]]:
    async def go() -> tuple[Completion, list[Attempt]]:
        try:
            return await call_with_retries(providers, target, req or request(), max_retries=max_retries)
        finally:
            await providers.aclose()

    return anyio.run(go)
