"""`explain_route` and `simulate_change` through a real MCP client (in memory) on the audit server:
read-only annotations, the governance:read scope, results valid against their outputSchema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from mcp import Client
from sim_fixtures import CALLS, TIGHTENED_POLICY

from polyroute.app import App
from polyroute.audit import EventQuery
from polyroute.simulation import Proposal, Window, simulate
from polyroute_servers import audit, suite
from polyroute_servers.auth import GOVERNANCE_READ

pytestmark = pytest.mark.anyio
TOOLS = ("explain_route", "simulate_change")


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def refused(result: Any) -> str:
    assert result.is_error
    text: str = result.content[0].text
    assert "Traceback" not in text and "\n" not in text
    return text


async def test_both_tools_are_read_only_governance_tools_on_audit_and_suite(recorded: App) -> None:
    for module in (audit, suite):
        server = module.build(recorded)
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in TOOLS:
            annotations = tools[name].annotations
            assert annotations is not None and annotations.read_only_hint is True
            assert server.scopes[name] == GOVERNANCE_READ and tools[name].output_schema


async def test_simulate_change_matches_the_library_and_its_schema(recorded: App, tmp_path: Any) -> None:
    path = tmp_path / "tight.toml"
    path.write_text(TIGHTENED_POLICY)
    expected = await simulate(recorded, Proposal(policy=path), Window())
    async with Client(audit.build(recorded)) as client:
        schema = {t.name: t.output_schema for t in (await client.list_tools()).tools}["simulate_change"]
        report = ok(await client.call_tool("simulate_change", {"policy": TIGHTENED_POLICY}))
        jsonschema.validate(report, schema or {})
        europe = {"team": "europe", "policy": TIGHTENED_POLICY}
        by_team = ok(await client.call_tool("simulate_change", europe))
        stray = {"prices": "[prices.nowhere]\ninput_per_mtok = 1"}
        bad = refused(await client.call_tool("simulate_change", stray))
        both = refused(await client.call_tool("simulate_change", {"principal": "bob", "team": "gulf"}))
    library = expected.model_dump(mode="json")
    assert report["summary"] == library["summary"] and report["changes"] == library["changes"]
    assert report["summary"]["calls"] == CALLS
    assert by_team["summary"]["calls"] == 6 and by_team["summary"]["newly_refused"] == 4
    assert "price file" in bad and "principal or team" in both


async def test_explain_route_then_and_today(recorded: App) -> None:
    completion = (await recorded.audit.query(EventQuery(event_type="completion", limit=1)))[0]
    receipt = completion.intent_id
    assert receipt is not None
    async with Client(audit.build(recorded)) as client:
        schema = {t.name: t.output_schema for t in (await client.list_tools()).tools}["explain_route"]
        explained = ok(await client.call_tool("explain_route", {"receipt_id": receipt}))
        missing = refused(await client.call_tool("explain_route", {"receipt_id": "evt_missing"}))
    jsonschema.validate(explained, schema or {})
    assert explained["receipt_id"] == receipt and explained["then"]["chosen"] == completion.deployment
    assert explained["today"]["chosen"] == completion.deployment and explained["changed"] == []
    assert explained["then"]["catalog_digest"] == explained["today"]["catalog_digest"]
    assert all(isinstance(c["score"], float) for c in explained["today"]["candidates"])
    assert "no audit event with receipt id" in missing
