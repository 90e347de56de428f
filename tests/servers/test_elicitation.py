"""An unclassified `complete` asks the user for jurisdiction and data class, through real MCP clients.

In memory at 2026-07-28 (the question rides an InputRequiredResult and the client retries), in memory
over the 2025-11-25 handshake (an elicitation/create request mid-call), and over stdio; a client
without elicitation, a classified call and a server with `[defaults]` are never asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, stdio_client
from mcp_types import ElicitRequestParams, ElicitResult
from test_tools import ok, refused
from test_transport import BIN, server_env

from polyroute.app import App
from polyroute.policy import DATA_CLASSES
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders
from polyroute_servers import suite

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app() -> AsyncIterator[App]:
    """The conftest's App, closed after the test (its provider clients belong to this test's loop)."""
    made = App(principal="local:tester")
    yield made
    await made.aclose()


PROMPT = {"prompt": "Summarise this patient's file", "model": "claude-sonnet-4-6"}


class Person:
    """An elicitation callback standing in for the user: answers with `reply` and notes each form."""

    def __init__(self, action: str = "accept", content: dict[str, Any] | None = None) -> None:
        self.action = action
        self.content = content or {"jurisdiction": "US", "data_class": "personal"}
        self.asked: list[ElicitRequestParams] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params)
        return ElicitResult(action=self.action, content=self.content if self.action == "accept" else None)  # type: ignore[arg-type]


def _form_is_the_classification(person: Person) -> None:
    assert len(person.asked) == 1
    schema = person.asked[0].requested_schema  # type: ignore[union-attr]
    assert schema["properties"]["data_class"]["enum"] == list(DATA_CLASSES)
    assert schema["properties"]["jurisdiction"]["type"] == "string"
    assert set(schema["required"]) == {"jurisdiction", "data_class"}


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 input_required / 2025-11-25 back channel
async def test_an_unclassified_call_asks_and_routes_with_the_answer(
    app: App, provider_env: FakeProviders, mode: str
) -> None:
    person = Person(content={"jurisdiction": "US", "data_class": "personal"})
    async with Client(suite.build(app), elicitation_callback=person, mode=mode) as client:  # type: ignore[arg-type]
        answer = ok(await client.call_tool("complete", PROMPT))
        receipt = ok(await client.call_tool("get_receipt", {"receipt_id": answer["receipt_id"]}))
    _form_is_the_classification(person)
    assert answer["jurisdiction"] == "US" and answer["data_class"] == "personal"
    assert answer["classification_defaulted"] is False
    assert receipt["jurisdiction"] == "US" and receipt["classification_defaulted"] is False


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_question_refuses_the_call_and_records_the_refusal(
    app: App, provider_env: FakeProviders, action: str
) -> None:
    person = Person(action=action)
    async with Client(suite.build(app), elicitation_callback=person) as client:
        message = refused(await client.call_tool("complete", PROMPT))
        events = ok(await client.call_tool("query_events", {"event_type": "refusal"}))
    assert (
        f"was {action}d" in message
        and "nothing was sent" in message
        and "jurisdiction and data_class" in message
    )
    assert events["count"] == 1 and events["events"][0]["principal"] == "local:tester"
    assert f"was {action}d" in events["events"][0]["reasons"][0]
    assert not provider_env.anthropic.seen()


async def test_an_answer_the_policy_denies_is_refused_like_a_classified_call(
    app: App, provider_env: FakeProviders
) -> None:
    person = Person(content={"jurisdiction": "SA", "data_class": "government_secret"})
    async with Client(suite.build(app), elicitation_callback=person) as client:
        message = refused(await client.call_tool("complete", PROMPT))
    assert "government_secret data for SA" in message and not provider_env.anthropic.seen()


async def test_a_client_without_elicitation_keeps_the_defaults_recorded_as_defaulted(
    client: Client, provider_env: FakeProviders
) -> None:
    answer = ok(await client.call_tool("complete", PROMPT))
    assert answer["classification_defaulted"] is True and answer["data_class"] == "public"


@pytest.mark.parametrize(
    ("arguments", "defaults"),
    [({"jurisdiction": "US", "data_class": "public"}, {}), ({"data_class": "public"}, {}),
     ({}, {"jurisdiction": "US"})],
)  # fmt: skip
async def test_no_question_when_the_call_or_the_config_classifies(
    provider_env: FakeProviders, arguments: dict[str, str], defaults: dict[str, str]
) -> None:
    settings = load_settings()
    app = App(settings.model_copy(update={"defaults": settings.defaults.model_copy(update=defaults)}))
    person = Person()
    async with Client(suite.build(app), elicitation_callback=person) as client:
        ok(await client.call_tool("complete", {**PROMPT, **arguments}))
    await app.aclose()
    assert person.asked == []


@pytest.mark.slow
async def test_over_stdio_the_router_asks_and_a_decline_refuses(tmp_path: Path, fakes: FakeProviders) -> None:
    params = StdioServerParameters(
        command=str(BIN / "polyroute-router"), env=server_env(tmp_path, **fakes.env())
    )
    yes, no = Person(content={"jurisdiction": "EU", "data_class": "personal"}), Person(action="decline")
    async with Client(stdio_client(params), elicitation_callback=yes) as client:
        answer = ok(await client.call_tool("complete", PROMPT))
    async with Client(stdio_client(params), elicitation_callback=no) as client:
        message = refused(await client.call_tool("complete", PROMPT))
    _form_is_the_classification(yes)
    assert answer["jurisdiction"] == "EU" and answer["classification_defaulted"] is False
    assert "was declined" in message and len(no.asked) == 1
