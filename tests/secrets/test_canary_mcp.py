"""The outside review's canary attack through a real MCP client: providers echo the key in every form the
review saw (masked fragments, upper-cased, base64, percent-encoded…) in their error bodies; none of it
reaches a tool result, a receipt or a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from canary_forms import echoes, leaks
from mcp import Client

from polyroute.app import App
from polyroute.testing import FakeProviders, Fault
from polyroute_servers import suite

pytestmark = pytest.mark.anyio
CANARY = "sk-proj-CANARY0f3a9c2e5b8d41Qz+/mcp0key77aa"


@pytest.fixture(scope="module")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def texts(result: Any) -> list[str]:
    shown = [getattr(block, "text", "") for block in result.content]
    return [*shown, json.dumps(result.structured_content or {})]


@pytest.mark.attack("provider error bodies echo the key (masked, upper-cased, base64, percent-encoded)",
                    area="secrets")  # fmt: skip
async def test_no_form_of_an_echoed_key_reaches_results_receipts_or_logs(
    fakes: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    fakes.clear()
    for name, value in {**fakes.env(), "ANTHROPIC_API_KEY": CANARY, "OPENAI_API_KEY": CANARY}.items():
        monkeypatch.setenv(name, value)
    forms = list(echoes(CANARY).values())
    for form in forms:  # one call per form, since an error message is cut at 240 characters; a 400, since
        fakes.anthropic.inject("claude-sonnet-4-6", Fault(status=400, message=form))  # 401s open the breaker
    body = " | ".join(reversed(forms))
    fakes.openai.inject("gpt-6-luna", Fault(status=500, message=body, times=2))  # retried, so logged too
    fakes.openai.inject("gpt-6-luna", Fault(status=403, message=body))
    app = App(principal="local:tester")
    shown: list[str] = []
    async with Client(suite.build(app)) as client:
        for pinned in ["anthropic-claude-sonnet-4-6"] * len(forms) + ["openai-gpt-6-luna"]:
            args = {"prompt": "hello", "model": pinned, "jurisdiction": "US", "data_class": "public"}
            result = await client.call_tool("complete", args)
            assert result.is_error and "[redacted]" in result.content[0].text  # type: ignore[union-attr]
            shown += texts(result)
        events = await client.call_tool("query_events", {"event_type": "failure", "limit": 100})
        assert events.structured_content and events.structured_content["count"] == len(forms) + 1
        shown += texts(events)
        for event in events.structured_content["events"]:
            shown += texts(await client.call_tool("get_receipt", {"receipt_id": event["id"]}))
    await app.aclose()
    assert CANARY in str(fakes.anthropic.seen()[0].headers) and len(fakes.anthropic.seen()) == len(forms)
    assert len(fakes.openai.seen()) == 3
    shown += [caplog.text, *capsys.readouterr()]
    for text in shown:
        assert not leaks(text, CANARY), text
    fakes.clear()
