"""secrets: env first, then the keyring (deployment id, then provider kind), else a clear error."""

from __future__ import annotations

import pytest
from keyring_fixtures import MemoryKeyring

from polyroute import secrets
from polyroute.catalog import Deployment
from polyroute.errors import ConfigError


def make(provider: str, **fields: str) -> Deployment:
    return Deployment.model_validate(
        {
            "id": f"my-{provider}",
            "provider": provider,
            "model": "m",
            "api_model": "m",
            "processing_locations": ["ANY"],
            "storage_locations": ["US"],
            "context_window": 10,
            "max_output_tokens": 10,
            **fields,
        }
    )


def test_env_beats_keyring(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.set_key("anthropic", "from-keyring-000000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env-000000")
    assert secrets.api_key(make("anthropic")) == "from-env-000000"


def test_keyring_by_deployment_id_then_provider_kind(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("openai", "kind-key-00000000")
    assert secrets.api_key(make("openai")) == "kind-key-00000000"
    secrets.set_key("my-openai", "deployment-key-0000")
    assert secrets.api_key(make("openai")) == "deployment-key-0000"
    assert memory_keyring.store[("polyroute", "my-openai")] == "deployment-key-0000"


def test_api_key_env_replaces_the_vendor_variable(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "vendor-key-000000")
    sovereign = make("openai_compatible", api_key_env="SOVEREIGN_KEY", base_url="http://10.0.0.1/v1")
    with pytest.raises(ConfigError, match="set SOVEREIGN_KEY"):  # named, so needed; never the vendor's key
        secrets.api_key(sovereign)
    assert secrets.api_key(make("openai_compatible", base_url="http://10.0.0.1/v1")) is None  # none named
    monkeypatch.setenv("SOVEREIGN_KEY", "sovereign-key-0000")
    assert secrets.api_key(sovereign) == "sovereign-key-0000"


def test_missing_required_key_names_variable_and_command(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError) as caught:
        secrets.api_key(make("azure_openai"))
    assert "AZURE_OPENAI_API_KEY" in str(caught.value)
    assert "polyroute keys set azure_openai" in str(caught.value)


def test_bedrock_uses_the_aws_chain(memory_keyring: MemoryKeyring) -> None:
    assert secrets.api_key(make("bedrock")) is None


def test_headless_machine_is_said_plainly(no_keyring: None) -> None:
    with pytest.raises(ConfigError) as caught:
        secrets.api_key(make("anthropic"))
    assert "ANTHROPIC_API_KEY" in str(caught.value) and "no OS keyring backend" in str(caught.value)
    with pytest.raises(secrets.NoKeyringBackend, match="no OS keyring backend"):
        secrets.set_key("anthropic", "sk-whatever-123456")


def test_a_backend_that_drops_writes_is_caught() -> None:
    # the sandbox's PYTHON_KEYRING_BACKEND is the null backend: it accepts writes and keeps nothing
    with pytest.raises(secrets.NoKeyringBackend, match="did not keep the key"):
        secrets.set_key("anthropic", "sk-whatever-123456")


def test_deleting_on_a_backend_that_keeps_nothing_does_not_claim_success() -> None:
    # the sandbox's null backend: delete_password "works" while nothing was ever there
    with pytest.raises(ConfigError, match="no key is stored for 'anthropic'"):
        secrets.delete_key("anthropic")


def test_delete_and_delete_of_nothing(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("openai", "to-delete-0000000")
    secrets.delete_key("openai")
    assert secrets.get_key("openai") is None
    with pytest.raises(ConfigError, match="no key is stored"):
        secrets.delete_key("openai")


def test_redact_and_last4() -> None:
    assert secrets.redact("key sk-abc12345 and sk-proj-****wxyz and mine", "mine") == (
        "key [redacted] and [redacted] and [redacted]"
    )
    assert secrets.last4("sk-abcdefgh1234") == "…1234" and secrets.last4("short") == "…"


MALFORMED = {
    "a line break inside": ("sk-ant-CANARY0abc\r\nX-Evil: 1", "line break (CR/LF)"),
    "a trailing newline": ("sk-ant-CANARY0abcdef\n", "line break (CR/LF) at character 21 of 21"),
    "a pasted curly quote": ("\u201csk-ant-CANARY0abcdef\u201d", "not ASCII"),
    "a non-breaking space": ("sk-ant-CANARY0\u00a0abcdef", "not ASCII"),
    "a tab": ("sk-ant-CANARY0\tabcdef", "whitespace or a control character"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_key_in_the_environment_is_named_not_shown(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    key, problem = MALFORMED[case]
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    with pytest.raises(ConfigError) as caught:
        secrets.api_key(make("anthropic"))
    message = str(caught.value)
    assert message.startswith("malformed API key in the environment variable ANTHROPIC_API_KEY: ")
    assert problem in message and "CANARY" not in message and "abcdef" not in message


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_key_in_the_keyring_is_named_not_shown(memory_keyring: MemoryKeyring, case: str) -> None:
    key, problem = MALFORMED[case]
    memory_keyring.store[("polyroute", "my-openai")] = key  # written by another tool, not `keys set`
    with pytest.raises(ConfigError) as caught:
        secrets.api_key(make("openai"))
    message = str(caught.value)
    assert message.startswith("malformed API key in the OS keyring entry polyroute/my-openai: ")
    assert problem in message and "CANARY" not in message and "abcdef" not in message


def test_keys_set_refuses_a_malformed_key_but_trims_the_ends(memory_keyring: MemoryKeyring) -> None:
    refused = r"malformed key for 'anthropic': it contains a line break"
    with pytest.raises(ConfigError, match=refused) as caught:
        secrets.set_key("anthropic", "sk-ant-CANARY0\nabcdef")
    assert "CANARY" not in str(caught.value) and memory_keyring.store == {}
    secrets.set_key("anthropic", "  sk-ant-fine-000000\n")
    assert memory_keyring.store[("polyroute", "anthropic")] == "sk-ant-fine-000000"


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("https://user:pa55word@llm.example.sa/v1", "user:password@"),
        ("https://sk-CANARY0abcdef@llm.example.sa/v1", "user:password@"),
        ("https://llm.example.sa/v1?api_key=CANARY0abcdef", "'api_key' parameter"),
        ("https://llm.example.sa/v1?x=1&Access-Token=CANARY0abcdef", "'Access-Token' parameter"),
        ("https://llm.example.sa/sk-CANARY0abcdef/v1", "shaped like an API key"),
    ],
)
def test_a_url_carrying_credentials_is_recognised_without_quoting_them(url: str, what: str) -> None:
    found = secrets.url_credentials(url)
    assert found is not None and what in found and "CANARY" not in found and "pa55" not in found


@pytest.mark.parametrize(
    "url",
    ["https://llm.example.sa/v1", "http://127.0.0.1:8000/v1", "https://x.openai.azure.com/?api-version=2024-10-21"],
)
def test_ordinary_endpoint_urls_pass(url: str) -> None:
    assert secrets.url_credentials(url) is None
