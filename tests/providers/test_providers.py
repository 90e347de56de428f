"""Providers: lazy SDK imports, one adapter per endpoint, and keys that never leak."""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import time

import anyio
import pytest
from provider_fixtures import CANARY, complete, deployment

from polyroute.catalog import Deployment
from polyroute.errors import ConfigError, ProviderHTTPError, ProviderTimeout
from polyroute.providers import ProviderOptions, Providers, call_with_retries
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

VENDORS = ("anthropic", "openai", "boto3", "botocore")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(__import__('json').dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return [name for name in json.loads(out) if name.split(".")[0] in VENDORS]


def test_importing_polyroute_loads_no_vendor_sdk() -> None:
    code = "import polyroute, polyroute.providers, polyroute.secrets, polyroute.testing, polyroute.app"
    assert _loaded_after(code) == []


def test_each_sdk_loads_with_its_first_deployment() -> None:
    code = (
        "import os; os.environ['ANTHROPIC_API_KEY'] = 'sk-ant-x'\n"
        "from polyroute.providers import Providers\nfrom polyroute.settings import load_settings\n"
        "from polyroute.catalog import Deployment\n"
        "d = Deployment(id='a', provider='anthropic', model='m', api_model='m', processing_locations=['ANY'],"
        " storage_locations=['US'], context_window=10, max_output_tokens=10)\n"
        "Providers(load_settings()).for_deployment(d)"
    )
    loaded = {name.split(".")[0] for name in _loaded_after(code)}
    assert "anthropic" in loaded and not loaded & {"openai", "boto3"}


def test_one_adapter_per_endpoint_and_key(env: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    providers = Providers(load_settings())
    first, second = (
        deployment("anthropic", "claude-a"),
        deployment("anthropic", "claude-b", inference_geo="us"),
    )
    assert providers.for_deployment(first) is providers.for_deployment(second)
    monkeypatch.setenv("OTHER_KEY", "sk-ant-other-key-0000")
    separate = deployment("anthropic", "claude-c", api_key_env="OTHER_KEY")
    assert providers.for_deployment(separate) is not providers.for_deployment(first)
    elsewhere = deployment("anthropic", "claude-d", base_url="http://127.0.0.1:9")
    assert providers.for_deployment(elsewhere) is not providers.for_deployment(first)


def test_missing_key_names_the_variable_and_the_command(
    env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError) as caught:
        Providers(load_settings()).for_deployment(deployment("anthropic", "claude-a"))
    assert "ANTHROPIC_API_KEY" in str(caught.value) and "polyroute keys set anthropic" in str(caught.value)


def test_canary_key_never_appears_in_errors_logs_or_output(
    env: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    masked = f"Incorrect API key provided: {CANARY[:8]}{'*' * 12}{CANARY[-4:]}. Or was it {CANARY}?"
    openai, anthropic = deployment("openai", "gpt-5.4"), deployment("anthropic", "claude-a")
    env.openai.inject("gpt-5.4", Fault(status=401, message=masked))
    env.anthropic.inject("claude-a", Fault(status=500, message=masked, times=None))
    errors: list[ProviderHTTPError] = []
    for target in (openai, anthropic):
        with pytest.raises(ProviderHTTPError) as caught:
            complete(Providers(load_settings()), target)
        errors.append(caught.value)
    assert env.openai.seen()[0].headers["authorization"] == f"Bearer {CANARY}"  # it was really sent
    shown = [str(e) for e in errors] + [a.model_dump_json() for e in errors for a in e.attempts]
    shown += [caplog.text, *capsys.readouterr()]
    for text in shown:
        assert CANARY not in text and CANARY[-4:] not in text and CANARY[:8] not in text, text
    assert "[redacted]" in str(errors[0])


@pytest.mark.parametrize(
    ("target", "fake"),
    [
        (deployment("anthropic", "slow-claude"), "anthropic"),
        (deployment("openai", "slow-gpt"), "openai"),
        (deployment("bedrock", "slow-titan", aws_region="eu-west-1"), "bedrock"),
    ],
)
def test_a_slow_provider_times_out_as_a_retryable_timeout(
    env: FakeProviders, target: Deployment, fake: str
) -> None:
    server = {"anthropic": env.anthropic, "openai": env.openai, "bedrock": env.bedrock}[fake]
    server.inject(target.api_model, Fault(delay=3.0))
    quick = Providers(load_settings(), options=ProviderOptions(timeout=0.3, connect_timeout=0.3))
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout) as caught:
        complete(quick, target, max_retries=0)
    assert caught.value.retryable and time.perf_counter() - started < 2.5
    assert len(server.seen()) == 1


def test_options_from_environment() -> None:
    options = ProviderOptions.from_env(
        {"POLYROUTE_PROVIDER_TIMEOUT": "30", "POLYROUTE_RETRY_AFTER_CAP": "2.5"}
    )
    assert (options.timeout, options.retry_after_cap) == (30.0, 2.5)
    with pytest.raises(ConfigError, match="POLYROUTE_PROVIDER_TIMEOUT must be a number"):
        ProviderOptions.from_env({"POLYROUTE_PROVIDER_TIMEOUT": "soon"})


def test_fake_answers_unknown_routes_with_the_provider_error_shape_and_counts_fault_uses(
    env: FakeProviders,
) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(f"{env.bedrock.url}/nowhere", data=b"{}"))
    assert (
        caught.value.code == 404 and "ResourceNotFoundException" in caught.value.headers["x-amzn-errortype"]
    )
    env.openai.inject("gpt-x", Fault(status=503, times=2))
    _, attempts = complete(
        Providers(load_settings(), options=ProviderOptions(backoff=0.01)), deployment("openai", "gpt-x")
    )
    assert [a.status for a in attempts] == [503, 503, None]


def test_one_providers_object_survives_several_event_loops(
    env: FakeProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CLI may run several `anyio.run`s over one App; pooled connections must not cross loops."""
    providers = Providers(load_settings())
    for target in (deployment("anthropic", "claude-loop"), deployment("openai", "gpt-loop")) * 2:

        async def go(target: Deployment = target) -> str:
            completion, _ = await call_with_retries(providers, target, CompletionRequest.from_prompt("again"))
            return completion.text

        assert anyio.run(go).endswith("again")
    gc.collect()
    assert "Event loop is closed" not in capsys.readouterr().err


def test_concurrent_calls_share_one_adapter_per_endpoint(env: FakeProviders) -> None:
    providers = Providers(load_settings())
    targets = [deployment("anthropic", "claude-many"), deployment("openai", "gpt-many"),
               deployment("bedrock", "titan-many", aws_region="us-east-1")]  # fmt: skip
    texts: list[str] = []

    async def one(target: Deployment, n: int) -> None:
        completion, _ = await call_with_retries(providers, target, CompletionRequest.from_prompt(f"call {n}"))
        texts.append(completion.text)

    async def go() -> None:
        async with anyio.create_task_group() as group:
            for n in range(20):
                for target in targets:
                    group.start_soon(one, target, n)
        await providers.aclose()

    anyio.run(go)
    assert len(texts) == 60 and sum(text.endswith("call 7") for text in texts) == 3
    assert [len(server.seen()) for server in env.servers] == [20, 20, 20]


@pytest.mark.parametrize(
    ("provider", "api_model"),
    [("anthropic", "claude-x"), ("openai_compatible", "local-x"), ("bedrock", "anthropic.claude-x")],
)
def test_a_refused_connection_says_could_not_connect(
    env: FakeProviders, provider: str, api_model: str
) -> None:
    """A wrong base URL is the usual cause; 'dropped the connection' would send the user to the server."""
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    target = deployment(provider, api_model, base_url=f"http://127.0.0.1:{port}", aws_region="us-east-1")
    quick = Providers(load_settings(), options=ProviderOptions(backoff=0.01))
    with pytest.raises(ProviderTimeout, match="could not connect to its endpoint") as raised:
        complete(quick, target, max_retries=0)
    assert raised.value.retryable
