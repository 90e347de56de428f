"""AnthropicProvider: the real `anthropic` SDK against the fake Messages API."""

from __future__ import annotations

import time

import anyio
import pytest
from provider_fixtures import PNG_1PX, complete, deployment, picture, request

from polyroute.errors import ProviderError, ProviderHTTPError, ProviderTimeout
from polyroute.providers import Providers
from polyroute.providers.anthropic import AnthropicProvider
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

MODEL = "claude-sonnet-4-6"
US = deployment("anthropic", MODEL, inference_geo="us")


def test_request_shape_path_headers_and_body(providers: Providers, env: FakeProviders) -> None:
    req = CompletionRequest.model_validate(
        {
            "system": "Be brief.",
            "max_tokens": 321,
            "temperature": 0.2,
            "messages": [
                {
                    "role": "user",
                    "content": picture("What is in this picture?"),
                }
            ],
        }
    )
    complete(providers, US, req)
    (seen,) = env.anthropic.seen()
    assert seen.path == "/v1/messages"
    assert seen.headers["authorization"] == "Bearer sk-ant-fake-local-stand-in"
    assert seen.headers["anthropic-version"]
    assert seen.body["model"] == MODEL and seen.body["max_tokens"] == 321
    assert seen.body["inference_geo"] == "us"
    assert seen.body["system"] == "Be brief." and seen.body["temperature"] == 0.2
    text, image = seen.body["messages"][0]["content"]
    assert text == {"type": "text", "text": "What is in this picture?"}
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_1PX}


def test_global_deployment_sends_no_geo_and_json_asks_in_system(
    providers: Providers, env: FakeProviders
) -> None:
    complete(providers, deployment("anthropic", MODEL), request(response_format="json"))
    body = env.anthropic.seen()[0].body
    assert "inference_geo" not in body
    assert "JSON" in body["system"]


def test_completion_maps_text_usage_request_id_and_inference_geo(
    providers: Providers, env: FakeProviders
) -> None:
    completion, attempts = complete(providers, US, request("ping pong"))
    assert completion.text == f"[{MODEL}] ping pong"
    assert completion.stop_reason == "end_turn"
    assert completion.usage.input_tokens == 3 and completion.usage.output_tokens > 0
    assert completion.inference_geo == "us"
    assert completion.request_id and completion.request_id.startswith("req_fake")
    assert completion.provider == "anthropic" and completion.model == MODEL and completion.deployment == US.id
    assert completion.latency_ms > 0
    assert [a.ok for a in attempts] == [True]


def test_count_tokens_uses_the_count_endpoint(env: FakeProviders) -> None:
    async def go() -> int:
        from polyroute.providers import ProviderOptions

        adapter = AnthropicProvider(api_key="sk-ant-x", base_url=env.anthropic.url, options=ProviderOptions())
        try:
            return await adapter.count_tokens(US, request("twelve chars"))
        finally:
            await adapter.aclose()

    assert anyio.run(go) == 3
    assert env.anthropic.seen()[0].path == "/v1/messages/count_tokens"


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, None), (401, None), (403, None), (404, None), (429, "enforced_spend_limit_reached")],
)
def test_final_errors_are_not_retried(
    providers: Providers, env: FakeProviders, status: int, code: str | None
) -> None:
    env.anthropic.inject(MODEL, Fault(status=status, code=code, times=None))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(providers, US)
    error = caught.value
    assert (error.status, error.retryable) == (status, False)
    assert len(env.anthropic.seen()) == 1 and len(error.attempts) == 1
    if code:
        assert error.code == code and code in str(error)


@pytest.mark.parametrize(
    ("status", "kind"), [(529, "overloaded_error"), (500, "api_error"), (429, "rate_limit_error")]
)
def test_retryable_errors_get_exactly_two_retries(
    providers: Providers, env: FakeProviders, status: int, kind: str
) -> None:
    env.anthropic.inject(MODEL, Fault(status=status, times=None))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(providers, US)
    assert caught.value.retryable and caught.value.code == kind
    assert len(env.anthropic.seen()) == 3, "the SDK's own retries must be off"
    assert [a.status for a in caught.value.attempts] == [status] * 3


def test_retry_after_is_honoured_then_succeeds(providers: Providers, env: FakeProviders) -> None:
    env.anthropic.inject(MODEL, Fault(status=429, retry_after=0.3))
    started = time.perf_counter()
    completion, attempts = complete(providers, US)
    assert time.perf_counter() - started >= 0.3
    assert [a.ok for a in attempts] == [False, True] and completion.text


def test_retry_after_ms_wins_and_long_waits_are_capped(providers: Providers, env: FakeProviders) -> None:
    env.anthropic.inject(MODEL, Fault(status=529, retry_after=30, retry_after_ms=200))
    env.anthropic.inject(MODEL, Fault(status=529, retry_after=30))  # capped at 0.5 s by the fixture's options
    started = time.perf_counter()
    complete(providers, US)
    elapsed = time.perf_counter() - started
    assert 0.2 + 0.5 <= elapsed < 3


def test_timeout_and_reset_are_retryable_timeouts(env: FakeProviders) -> None:
    from polyroute.providers import ProviderOptions
    from polyroute.settings import load_settings

    quick = Providers(load_settings(), options=ProviderOptions(timeout=0.2, backoff=0.01))
    env.anthropic.inject(MODEL, Fault(delay=1.0))
    env.anthropic.inject(MODEL, Fault(reset=True))
    completion, attempts = complete(quick, US)
    assert [a.ok for a in attempts] == [False, False, True]
    assert "did not answer in time" in (attempts[0].error or "")
    assert "dropped the connection" in (attempts[1].error or "")
    assert completion.text


def test_malformed_body_is_a_retryable_provider_error(providers: Providers, env: FakeProviders) -> None:
    env.anthropic.inject(MODEL, Fault(malformed=True, times=None))
    with pytest.raises(ProviderError) as caught:
        complete(providers, US, max_retries=0)
    assert "malformed" in str(caught.value) and caught.value.retryable
    assert not isinstance(caught.value, ProviderTimeout | ProviderHTTPError)


def test_deployment_base_url_beats_anthropic_base_url(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    pinned = deployment("anthropic", MODEL, base_url=env.anthropic.url)
    completion, _ = complete(providers, pinned)
    assert completion.text and len(env.anthropic.seen()) == 1
