"""messageswire: the body the Anthropic adapter sends is the one `messages.create` sends, and the answer
reader keeps usage (cache reads and writes, thinking) and where inference ran."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from provider_fixtures import complete, deployment, picture_conversation

from polyroute.errors import ProviderError
from polyroute.providers import Providers
from polyroute.providers.messageswire import completion, read_message, request_body
from polyroute.testing import DUMMY_KEYS, FakeProviders, Fault
from polyroute.types import CompletionRequest

MODEL = "claude-sonnet-4-6"
RICH = {
    "system": "Be brief.",
    "max_tokens": 77,
    "temperature": 0.25,
    "messages": picture_conversation(),
}


def _sent_by_the_sdk(env: FakeProviders, body: dict[str, Any]) -> dict[str, Any]:
    """The body `messages.create` puts on the wire for the same arguments."""
    from anthropic import AsyncAnthropic

    async def go() -> None:
        key = DUMMY_KEYS["ANTHROPIC_API_KEY"]
        client = AsyncAnthropic(base_url=env.anthropic.url, api_key=key, max_retries=0)
        fields = dict(body)
        temperature = fields.pop("temperature", None)  # no longer in create's typed signature
        extra = None if temperature is None else {"temperature": temperature}
        try:
            await client.messages.create(**fields, extra_body=extra)
        finally:
            await client.close()

    env.anthropic.clear()
    anyio.run(go)
    (seen,) = env.anthropic.seen()
    return seen.body


@pytest.mark.parametrize("geo", [None, "us"])
@pytest.mark.parametrize("shape", ["rich", "plain"])
def test_the_body_sent_is_what_the_sdks_create_sends(
    providers: Providers, env: FakeProviders, geo: str | None, shape: str
) -> None:
    req = CompletionRequest.model_validate(
        RICH if shape == "rich" else {"messages": [{"role": "user", "content": "Hi"}]}
    )
    target = deployment("anthropic", MODEL, **({"inference_geo": geo} if geo else {}))
    complete(providers, target, req)
    (ours,) = env.anthropic.seen()
    expected = {"model": MODEL, **request_body(target, req), **({"inference_geo": geo} if geo else {})}
    assert ours.body == _sent_by_the_sdk(env, expected)
    assert ours.path == "/v1/messages" and ours.body["max_tokens"] == req.max_tokens


def test_a_model_that_refuses_sampling_parameters_is_sent_no_temperature() -> None:
    req = CompletionRequest.model_validate(RICH)
    assert request_body(deployment("anthropic", MODEL), req)["temperature"] == 0.25
    assert "temperature" not in request_body(deployment("anthropic", MODEL, accepts_temperature=False), req)


def test_an_answer_keeps_usage_splits_thinking_and_where_it_ran() -> None:
    raw = json.dumps(
        {
            "model": MODEL,
            "stop_reason": "end_turn",
            "content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "Hi"}, "junk"],
            "usage": {
                "input_tokens": 12,
                "output_tokens": 9,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 5,
                "output_tokens_details": {"thinking_tokens": 4},
                "inference_geo": "us",
            },
        }
    ).encode()
    message = read_message(raw)
    assert message is not None
    done = completion(deployment("anthropic", MODEL), message, provider="anthropic", model=MODEL,
                      request_id="req_1", latency_ms=1.0)  # fmt: skip
    usage = done.usage
    assert done.text == "Hi" and done.stop_reason == "end_turn" and done.inference_geo == "us"
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (
        12, 9, 100, 5,
    )  # fmt: skip
    assert usage.reasoning_tokens == 4


@pytest.mark.parametrize("raw", [b"[]", b'{"content": "x", "usage": {}}', b'{"content": [], "usage": null}'])
def test_what_is_not_a_message_is_refused(raw: bytes) -> None:
    assert read_message(raw) is None


def test_an_answer_without_a_model_is_malformed(providers: Providers, env: FakeProviders) -> None:
    env.anthropic.inject(MODEL, Fault(malformed=True))
    with pytest.raises(ProviderError) as caught:
        complete(providers, deployment("anthropic", MODEL), max_retries=0)
    assert "malformed" in str(caught.value) and caught.value.retryable
