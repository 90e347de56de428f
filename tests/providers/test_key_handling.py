"""Keys through the real SDKs and the wire fakes: a provider echoing the key in any form leaks none of it
into errors, attempts or logs; a malformed key is refused before any request and never retried."""

from __future__ import annotations

import logging

import pytest
from provider_fixtures import complete, deployment
from tests.secrets.canary_forms import echoes, leaks
from tests.secrets.keyring_fixtures import MemoryKeyring

from polyroute.errors import ConfigError, ProviderHTTPError
from polyroute.providers import ProviderOptions, Providers
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders, Fault

CANARY = "sk-ant-api03-CANARY7f3a9c2e5b8d41Qz+/k3y77aa"
TARGETS = {
    "anthropic": (deployment("anthropic", "claude-a"), "ANTHROPIC_API_KEY"),
    "openai": (deployment("openai", "gpt-5.4"), "OPENAI_API_KEY"),
}


def fast() -> Providers:
    return Providers(load_settings(), options=ProviderOptions(timeout=2.0, backoff=0.01, retry_after_cap=0.1))


@pytest.mark.parametrize("vendor", list(TARGETS))
@pytest.mark.parametrize("form", list(echoes(CANARY)))
def test_an_echoed_key_in_any_form_reaches_no_error_attempt_or_log(
    env: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    vendor: str,
    form: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    target, variable = TARGETS[vendor]
    monkeypatch.setenv(variable, CANARY)
    fake = env.anthropic if vendor == "anthropic" else env.openai
    fake.inject(target.api_model, Fault(status=500, message=echoes(CANARY)[form], times=2))  # retried: logged
    fake.inject(target.api_model, Fault(status=401, message=echoes(CANARY)[form]))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(fast(), target)
    assert CANARY in str(fake.seen()[0].headers)  # it was really sent, and really echoed
    shown = [str(caught.value), *(a.model_dump_json() for a in caught.value.attempts), caplog.text]
    shown += capsys.readouterr()
    assert len(caught.value.attempts) == 3 and "[redacted]" in str(caught.value)
    for text in shown:
        assert not leaks(text, CANARY), text


def test_an_aws_secret_echoed_by_bedrock_is_scrubbed(
    env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    target = deployment("bedrock", "titan-x", aws_region="eu-west-1")
    env.bedrock.inject("titan-x", Fault(status=403, message=f"signature for {secret.upper()} does not match"))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(fast(), target)
    assert not leaks(str(caught.value), secret) and "[redacted]" in str(caught.value)



@pytest.mark.parametrize("key", ["sk-ant-CANARY0abc\r\nX-Injected: 1", "sk-ant-CANARY0abc\u2013def"])
def test_a_malformed_key_from_the_environment_is_refused_before_any_request(
    env: FakeProviders, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    with pytest.raises(ConfigError) as caught:
        complete(fast(), TARGETS["anthropic"][0])
    message = str(caught.value)
    assert message.startswith("malformed API key in the environment variable ANTHROPIC_API_KEY")
    assert "CANARY" not in message and "dropped the connection" not in message
    assert env.anthropic.seen() == []  # no request, so nothing to retry


def test_a_malformed_key_from_the_keyring_is_refused_before_any_request(
    env: FakeProviders, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    memory_keyring.store[("polyroute", "openai")] = "sk-CANARY0abc\ndef"
    with pytest.raises(ConfigError, match=r"^malformed API key in the OS keyring entry polyroute/openai: "):
        complete(fast(), TARGETS["openai"][0])
    assert env.openai.seen() == []
