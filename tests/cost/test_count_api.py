"""Anthropic's count-tokens API through the real `anthropic` SDK, against a loopback HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.cost.conftest import deployment

from polyroute import cost
from polyroute.errors import ProviderHTTPError
from polyroute.types import CompletionRequest

KEY = "sk-ant-test-0123456789"


class CountTokensServer:
    """`POST /v1/messages/count_tokens` → `{"input_tokens": N}`; records what it was sent."""

    def __init__(self, answer: int = 1234, status: int = 200) -> None:
        self.answer, self.status = answer, status
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if owner.status == 200:
                    payload = {"input_tokens": owner.answer}
                else:
                    payload = {
                        "type": "error",
                        "error": {"type": "invalid_request_error", "message": "bad model"},
                    }
                data = json.dumps(payload).encode()
                self.send_response(owner.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[CountTokensServer]:
    fake = CountTokensServer()
    yield fake
    fake.close()


REQUEST = CompletionRequest.from_prompt("مرحبا، ما هي عاصمة المملكة العربية السعودية؟", system="Be brief.")


def test_counts_through_the_sdk_with_the_deployments_base_url(
    server: CountTokensServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    target = deployment("anthropic-sonnet", base_url=server.url, api_model="claude-sonnet-4-6")
    counted = asyncio.run(cost.count_tokens_via_api(target, REQUEST))
    assert counted is not None
    assert (counted.tokens, counted.method, counted.error_band) == (1234, "provider_api", 0.0)
    (sent,) = server.requests
    assert sent["path"] == "/v1/messages/count_tokens"
    assert sent["body"]["model"] == "claude-sonnet-4-6"
    assert sent["body"]["system"] == "Be brief."
    assert sent["body"]["messages"] == [{"role": "user", "content": REQUEST.messages[0].content}]
    assert any(KEY in value for value in sent["headers"].values())


def test_base_url_from_anthropic_base_url_and_the_quote_uses_the_count(
    server: CountTokensServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    target = deployment("anthropic-sonnet")
    quote = asyncio.run(cost.estimate(target, REQUEST, expected_output_tokens=100, exact=True))
    assert (quote.input_tokens, quote.input_method, quote.error_band) == (1234, "provider_api", 0.0)
    assert quote.input_tokens_min == quote.input_tokens_max == 1234
    assert len(server.requests) == 1


def test_without_a_key_nothing_is_sent_and_the_count_is_offline(
    server: CountTokensServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    target = deployment("anthropic-sonnet")
    assert asyncio.run(cost.count_tokens_via_api(target, REQUEST)) is None
    quote = asyncio.run(cost.estimate(target, REQUEST, exact=True))
    assert quote.input_method == "heuristic" and server.requests == []
    assert "counted offline" in quote.notes[0]


def test_an_api_error_falls_back_to_the_offline_count_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = CountTokensServer(status=400)
    try:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        target = deployment("anthropic-sonnet", base_url=failing.url)
        with pytest.raises(ProviderHTTPError) as raised:
            asyncio.run(cost.count_tokens_via_api(target, REQUEST))
        assert raised.value.status == 400 and KEY not in str(raised.value)
        quote = asyncio.run(cost.estimate(target, REQUEST, exact=True))
        assert quote.input_method == "heuristic"
        assert quote.notes[0].startswith("count-tokens API failed")
    finally:
        failing.close()


def test_other_providers_are_never_asked(server: CountTokensServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    gpt = deployment("openai-gpt", provider="openai", model="gpt-4.1", base_url=server.url,
                     price_ref={"model_ref": "gpt-4.1", "provider_id": "openai"})  # fmt: skip
    assert asyncio.run(cost.count_tokens_via_api(gpt, REQUEST)) is None
    assert asyncio.run(cost.estimate(gpt, REQUEST, exact=True)).input_method == "exact"
    assert server.requests == []


def test_a_refusal_keeps_the_text_here_and_says_why(
    server: CountTokensServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    refusal = "counted offline: not allowed there"
    target = deployment("anthropic-sonnet")
    quote = asyncio.run(cost.estimate(target, REQUEST, send_refusal=refusal, exact=True))
    assert server.requests == []
    assert quote.input_method != "provider_api"
    assert quote.notes[0] == "counted offline: not allowed there"


def test_the_residency_gate_on_counting_follows_the_policy_and_the_defaults() -> None:
    from polyroute.residency import load_policy
    from polyroute.settings import Defaults, Settings
    from polyroute.tokencount import api_count_refusal

    policy = load_policy(Settings(data_dir=Path("/nonexistent")))
    anywhere = deployment("anthropic-sonnet")  # inference_geo global: may process anywhere
    refusal = api_count_refusal(policy, Defaults(), anywhere, "SA", "government_secret")
    assert refusal is not None and "not even to count its tokens" in refusal
    assert api_count_refusal(policy, Defaults(), anywhere, None, None) is None  # unclassified: public
    assert api_count_refusal(policy, Defaults(), anywhere, "SA", "public") is None
    defaulted = Defaults(jurisdiction="SA", data_class="government_secret")
    assert api_count_refusal(policy, defaulted, anywhere, None, None) is not None


def test_cli_estimate_of_secret_data_never_reaches_the_count_api(
    server: CountTokensServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from polyroute_servers.cli import main

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    args = ["cost", "estimate", "--deployment", "anthropic-claude-sonnet-4-6", "--prompt", "سري للغاية",
            "--output-tokens", "10", "--json"]  # fmt: skip
    secret = ["--jurisdiction", "SA", "--data-class", "government_secret"]
    assert main([*args, *secret]) == 0 and main([*args, *secret, "--exact"]) == 0
    assert server.requests == []
    assert "not even to count its tokens" in capsys.readouterr().out
    assert main(args) == 0  # no --exact: offline, even for public data
    assert server.requests == []
    assert main([*args, "--exact"]) == 0  # unclassified: public, so the provider may count it
    assert len(server.requests) == 1


def test_a_quote_makes_no_network_call_even_with_a_key_and_a_base_url(
    server: CountTokensServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10: a governance answer sends nothing out unless the caller asks for an exact count."""
    from polyroute_servers.cli import main

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    quote = asyncio.run(cost.estimate(deployment("anthropic-sonnet"), REQUEST))
    assert quote.input_method == "heuristic" and quote.input_tokens > 0
    args = ["cost", "estimate", "--deployment", "anthropic-claude-sonnet-4-6", "--prompt", "hello there",
            "--output-tokens", "10", "--json"]  # fmt: skip
    assert main(args) == 0 and main([*args, "--offline"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}")["input_method"] == "heuristic"
    assert server.requests == []  # the loopback fake's counter: nothing arrived
