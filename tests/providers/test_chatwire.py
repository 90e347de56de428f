"""chatwire: the body the OpenAI adapter sends is the one `chat.completions.create` sends, and the
answer reader takes exactly the fields a Completion needs, refusing what is not a Chat Completions answer."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from provider_fixtures import PNG_1PX, complete, deployment, picture_conversation

from polyroute.errors import ProviderError
from polyroute.providers import Providers
from polyroute.providers.chatwire import Answer, MalformedAnswer, messages, request_body
from polyroute.testing import DUMMY_KEYS, FakeProviders, Fault
from polyroute.types import CompletionRequest

RICH = {
    "system": "Be brief.",
    "max_tokens": 77,
    "temperature": 0.25,
    "response_format": "json",
    "messages": picture_conversation(),
}


def _sent_by_the_sdk(env: FakeProviders, body: dict[str, Any]) -> dict[str, Any]:
    """The body `chat.completions.create` puts on the wire for the same arguments."""
    from openai import AsyncOpenAI

    async def go() -> None:
        client = AsyncOpenAI(
            base_url=f"{env.openai.url}/v1", api_key=DUMMY_KEYS["OPENAI_API_KEY"], max_retries=0
        )
        try:
            await client.chat.completions.create(**body)
        finally:
            await client.close()

    env.openai.clear()
    anyio.run(go)
    (seen,) = env.openai.seen()
    return seen.body


@pytest.mark.parametrize("kind", ["openai", "openai_compatible"])
@pytest.mark.parametrize("shape", ["rich", "plain"])
def test_the_body_sent_is_what_the_sdks_create_sends(
    providers: Providers, env: FakeProviders, kind: str, shape: str
) -> None:
    fields = RICH if shape == "rich" else {"messages": [{"role": "user", "content": "Hi"}]}
    req = CompletionRequest.model_validate(fields)
    extra = {"base_url": f"{env.openai.url}/v1"} if kind == "openai_compatible" else {}
    target = deployment(kind, "gpt-5.4", **extra)
    complete(providers, target, req)
    (ours,) = env.openai.seen()
    assert ours.body == _sent_by_the_sdk(env, request_body(target, req))
    assert ours.path == "/v1/chat/completions"
    tokens = "max_tokens" if kind == "openai_compatible" else "max_completion_tokens"
    assert ours.body[tokens] == req.max_tokens


def test_messages_keep_roles_and_turn_images_into_data_urls() -> None:
    sent = messages(CompletionRequest.model_validate(RICH))
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}}
    assert sent[1]["content"][1] == image


def _answer(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_an_answer_gives_text_stop_reason_model_and_usage_with_cache_reads_apart() -> None:
    answer = Answer.read(
        _answer(
            model="gpt-5.4-2026",
            choices=[{"message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
            usage={
                "prompt_tokens": 120,
                "completion_tokens": 7,
                "prompt_tokens_details": {"cached_tokens": 100},
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
        )
    )
    assert (answer.text, answer.stop_reason, answer.model) == ("Hi.", "stop", "gpt-5.4-2026")
    usage = answer.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        20, 100, 7, 3,
    )  # fmt: skip


def test_absent_or_null_parts_read_as_empty() -> None:
    answer = Answer.read(_answer(choices=[], usage=None))
    assert (answer.text, answer.stop_reason, answer.model) == ("", None, None)
    assert answer.usage.input_tokens == 0 and answer.usage.output_tokens == 0
    filtered = [{"message": {"content": None}, "finish_reason": "content_filter"}]
    refusal = Answer.read(_answer(choices=filtered))
    assert refusal.text == "" and refusal.stop_reason == "content_filter"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        _answer(choices="none"),
        _answer(choices=["text"]),
        _answer(choices=[{"message": "hi"}]),
        _answer(choices=[{"message": {"content": 5}}]),
        _answer(usage={"prompt_tokens": "many"}),
        _answer(usage={"prompt_tokens": True}),
        _answer(usage={"prompt_tokens_details": []}),
    ],
)
def test_what_is_not_a_chat_completions_answer_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedAnswer):
        Answer.read(raw)


def test_a_garbled_body_is_a_retryable_malformed_answer(providers: Providers, env: FakeProviders) -> None:
    env.openai.inject("gpt-5.4", Fault(malformed=True, times=None))
    with pytest.raises(ProviderError) as caught:
        complete(providers, deployment("openai", "gpt-5.4"))
    assert "malformed" in str(caught.value) and caught.value.retryable and len(env.openai.seen()) == 3


def test_the_request_id_comes_from_the_answer_headers(providers: Providers, env: FakeProviders) -> None:
    completion, _ = complete(providers, deployment("openai", "gpt-5.4"))
    assert completion.request_id and completion.request_id.startswith("req")
