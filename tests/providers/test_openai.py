"""OpenAIProvider: the real `openai` SDK against the fake as OpenAI, Azure OpenAI, compatible."""

from __future__ import annotations

import pytest
from provider_fixtures import PNG_1PX, complete, deployment, picture_conversation

from polyroute.errors import ConfigError, ProviderHTTPError
from polyroute.providers import Providers
from polyroute.providers.openai import base_url
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

MODEL = "gpt-5.4"
EU = deployment("openai", MODEL, data_residency="eu")


def test_request_shape_path_headers_and_body(providers: Providers, env: FakeProviders) -> None:
    req = CompletionRequest.model_validate(
        {
            "system": "Be brief.",
            "max_tokens": 77,
            "temperature": 0.5,
            "response_format": "json",
            "messages": picture_conversation(),
        }
    )
    completion, _ = complete(providers, EU, req)
    (seen,) = env.openai.seen()
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-fake-local-stand-in"
    body = seen.body
    assert body["model"] == MODEL and body["max_completion_tokens"] == 77 and body["temperature"] == 0.5
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system" and "JSON" in body["messages"][0]["content"]
    assert body["messages"][1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"},
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert completion.text.startswith("{") and completion.stop_reason == "stop"
    assert completion.usage.input_tokens > 0 and completion.request_id


def test_residency_host_is_resolved_by_us_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert base_url(EU) == "https://eu.api.openai.com/v1"
    assert base_url(deployment("openai", MODEL, data_residency="global")) is None
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert base_url(EU) == "http://127.0.0.1:9/v1"
    pinned = deployment("openai", MODEL, data_residency="eu", base_url="http://10.0.0.1/v1")
    assert base_url(pinned) == "http://10.0.0.1/v1"


def test_compatible_endpoint_needs_a_base_url_but_no_key(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="needs a base_url"):
        base_url(deployment("openai_compatible", "llama-4"))
    local = deployment("openai_compatible", "llama-4", base_url=f"{env.openai.url}/v1")
    completion, _ = complete(providers, local)
    seen = env.openai.seen()[0]
    assert seen.body["max_tokens"] == 1024 and "max_completion_tokens" not in seen.body
    assert seen.headers["authorization"] == "Bearer not-needed"
    assert completion.provider == "openai_compatible"


def test_compatible_endpoint_uses_its_own_key_variable(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOVEREIGN_KEY", "sovereign-key-1234")
    local = deployment(
        "openai_compatible", "jais-2", base_url=f"{env.openai.url}/v1", api_key_env="SOVEREIGN_KEY"
    )
    complete(providers, local)
    assert env.openai.seen()[0].headers["authorization"] == "Bearer sovereign-key-1234"


def test_a_named_key_variable_that_is_unset_refuses_the_call_before_anything_is_sent(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10: naming `api_key_env` says the endpoint needs a key; no keyless placeholder is sent."""
    monkeypatch.delenv("SOVEREIGN_KEY", raising=False)
    local = deployment(
        "openai_compatible", "jais-2", base_url=f"{env.openai.url}/v1", api_key_env="SOVEREIGN_KEY"
    )
    with pytest.raises(ConfigError, match=r"no API key for deployment .*: set SOVEREIGN_KEY"):
        complete(providers, local)
    assert env.openai.seen() == []


def test_azure_uses_the_deployment_path_api_version_and_api_key_header(
    providers: Providers, env: FakeProviders
) -> None:
    azure = deployment("azure_openai", "gpt-5-1-eu", api_version="2025-01-01-preview")
    completion, _ = complete(providers, azure)
    (seen,) = env.openai.seen()
    assert seen.path == "/openai/deployments/gpt-5-1-eu/chat/completions?api-version=2025-01-01-preview"
    assert seen.headers["api-key"] == "fake-azure-local-stand-in"
    assert completion.provider == "azure_openai" and completion.text == "[gpt-5-1-eu] Hello from the tests"


def test_quota_429_is_final_and_rate_limit_429_is_retried(providers: Providers, env: FakeProviders) -> None:
    env.openai.inject(MODEL, Fault(status=429, code="insufficient_quota"))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(providers, EU)
    assert not caught.value.retryable and len(env.openai.seen()) == 1
    env.openai.clear()
    env.openai.inject(MODEL, Fault(status=429, retry_after_ms=50, times=2))
    _, attempts = complete(providers, EU)
    assert [a.status for a in attempts] == [429, 429, None] and len(env.openai.seen()) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_final(providers: Providers, env: FakeProviders, status: int) -> None:
    env.openai.inject(MODEL, Fault(status=status))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(providers, EU)
    assert caught.value.status == status and not caught.value.retryable and len(env.openai.seen()) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_twice(providers: Providers, env: FakeProviders, status: int) -> None:
    env.openai.inject(MODEL, Fault(status=status, times=None))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(providers, EU)
    assert caught.value.retryable and len(env.openai.seen()) == 3 and len(caught.value.attempts) == 3


def test_azure_without_an_endpoint_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        base_url(deployment("azure_openai", "gpt-5-1-eu"))


def test_bundled_regional_azure_deployments_never_ride_the_shared_endpoint(env: FakeProviders) -> None:
    """AZURE_OPENAI_ENDPOINT names one resource; the bundled EU Data Zone and UAE entries would all call
    the same `gpt-5.1` deployment on it while their receipts claimed EU or UAE processing."""
    from polyroute.catalog import load_catalog

    catalog = load_catalog()
    assert base_url(catalog.get("azure-global-gpt-5-1")) == env.openai.url  # ANY: any resource will do
    for regional in ("azure-datazone-eu-gpt-5-1", "azure-uaenorth-gpt-5-1"):
        with pytest.raises(ConfigError, match="its own base_url"):
            base_url(catalog.get(regional))
    declared = {
        "id": "azure-uaenorth-gpt-5-1", "provider": "azure_openai", "model": "gpt-5.1",
        "api_model": "gpt51-uae", "base_url": "https://uae.example.azure.com",
        "processing_locations": ["azure:uaenorth"], "storage_locations": ["AE"],
    }  # fmt: skip
    mine = load_catalog([declared])
    assert base_url(mine.get("azure-uaenorth-gpt-5-1")) == "https://uae.example.azure.com"
