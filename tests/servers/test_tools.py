"""Every tool through a real MCP client, in memory: shapes, answers, audit side effects, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from tests.servers.conftest import app_with

from polyroute.app import App
from polyroute.testing import FakeProviders
from polyroute_servers import audit, cost, residency, router, suite

pytestmark = pytest.mark.anyio

CONTRACT = {
    router: {"list_models", "route_request", "complete"},
    cost: {"estimate_cost", "compare_costs", "budget_status"},
    residency: {"check_residency", "list_allowed_deployments", "explain_policy"},
    audit: {"query_events", "verify_log", "summarize_usage", "get_receipt", "record_event",
              "explain_route", "simulate_change"},
}
WRITERS = {"complete", "record_event"}


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def refused(result: Any) -> str:
    assert result.is_error
    text = result.content[0].text
    assert "Traceback" not in text and "\n" not in text
    return text


@pytest.mark.parametrize(
    "module", [router, cost, residency, audit, suite], ids=lambda m: m.__name__.split(".")[-1]
)
async def test_each_server_offers_its_contract_tools_with_schemas_and_hints(app: App, module: Any) -> None:
    expected = set().union(*CONTRACT.values()) if module is suite else CONTRACT[module]
    async with Client(module.build(app)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert client.instructions
    assert set(tools) == expected
    for name, tool in tools.items():
        assert tool.output_schema and tool.description and tool.annotations
        assert tool.annotations.read_only_hint is (name not in WRITERS), name
        assert tool.annotations.destructive_hint in (None, False)


async def test_check_residency_denies_saudi_secret_data_on_a_global_deployment(client: Client) -> None:
    args = {
        "jurisdiction": "SA",
        "data_class": "government_secret",
        "deployment": "anthropic-claude-sonnet-4-6",
    }
    verdict = ok(await client.call_tool("check_residency", args))
    assert verdict["allowed"] is False
    assert verdict["rule"] == "SA/government_secret"
    assert verdict["reasons"] and verdict["processing_locations"] == ["ANY"]


async def test_unknown_deployment_is_a_denial_with_a_reason_not_an_error(client: Client) -> None:
    verdict = ok(await client.call_tool("check_residency", {
        "jurisdiction": "EU", "data_class": "personal", "deployment": "no-such-thing"}))  # fmt: skip
    assert verdict["allowed"] is False
    assert any("no-such-thing" in reason for reason in verdict["reasons"])


async def test_list_allowed_deployments_keeps_eu_personal_data_in_the_eea(client: Client, app: App) -> None:
    listing = ok(
        await client.call_tool("list_allowed_deployments", {"jurisdiction": "EU", "data_class": "personal"})
    )
    allowed = {row["deployment"] for row in listing["allowed"]}
    denied = {row["deployment"] for row in listing["denied"]}
    assert allowed and allowed.isdisjoint(denied) and allowed | denied == set(app.catalog.ids())
    assert all("ANY" not in row["processing_locations"] and "US" not in row["processing_locations"]
               for row in listing["allowed"])  # fmt: skip
    assert all(row["reasons"] for row in listing["denied"])


async def test_explain_policy_narrows_to_one_rule_and_names_unknown_jurisdictions(client: Client) -> None:
    explained = ok(await client.call_tool("explain_policy", {"jurisdiction": "SA", "data_class": "personal"}))
    assert [rule["data_class"] for rule in explained["rules"]] == ["personal"]
    assert "unknown jurisdiction" in refused(await client.call_tool("explain_policy", {"jurisdiction": "XX"}))


async def test_estimate_cost_quotes_min_expected_max(client: Client) -> None:
    quote = ok(await client.call_tool("estimate_cost", {
        "deployment": "anthropic-claude-sonnet-4-6", "input_tokens": 1000, "max_tokens": 200}))  # fmt: skip
    assert quote["input_tokens"] == 1000
    assert 0 < quote["min_usd"] <= quote["expected_usd"] <= quote["max_usd"]
    both = {"deployment": "anthropic-claude-sonnet-4-6", "input_tokens": 10, "prompt": "hi"}
    assert "not both" in refused(await client.call_tool("estimate_cost", both))


async def test_estimate_cost_is_offline_unless_an_exact_count_is_asked_for(
    client: Client, provider_env: FakeProviders
) -> None:
    args = {"deployment": "anthropic-claude-sonnet-4-6", "prompt": "hi"}
    offline = ok(await client.call_tool("estimate_cost", args))
    assert offline["input_method"] == "heuristic" and not provider_env.anthropic.seen()
    quote = ok(await client.call_tool("estimate_cost", {**args, "exact": True}))
    assert quote["input_method"] == "provider_api" and quote["error_band"] == 0
    assert any("count_tokens" in seen.path for seen in provider_env.anthropic.seen())
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    hints = tools["estimate_cost"].annotations
    assert hints is not None and hints.open_world_hint is True and hints.read_only_hint is True


async def test_compare_costs_ranks_only_what_residency_allows(client: Client) -> None:
    compared = ok(await client.call_tool("compare_costs", {
        "prompt": "مرحبا، كيف حالك؟", "jurisdiction": "EU", "data_class": "personal"}))  # fmt: skip
    expected = [quote["expected_usd"] for quote in compared["quotes"]]
    assert expected and expected == sorted(expected)
    assert compared["excluded"] and all(row["reason"] for row in compared["excluded"])
    half = {"prompt": "hi", "jurisdiction": "EU"}
    assert "both" in refused(await client.call_tool("compare_costs", half))


async def test_budget_status_reports_the_callers_budgets() -> None:
    from polyroute.settings import Budget, load_settings

    settings = load_settings()
    budget = Budget(scope="principal:local:tester", period="month", limit_usd=5)  # pyright: ignore[reportArgumentType]
    app = App(settings.model_copy(update={"budgets": [budget]}), principal="local:tester")
    async with Client(suite.build(app)) as client:
        report = ok(await client.call_tool("budget_status", {}))
    assert report["principal"] == "local:tester"
    [status] = report["budgets"]
    assert status["limit_usd"] == 5 and status["remaining_usd"] == 5


async def test_list_models_and_route_request_show_the_plan_without_calling(client: Client) -> None:
    models = ok(await client.call_tool("list_models", {"jurisdiction": "EU", "data_class": "personal"}))
    assert models["deployments"] and models["filtered_by"] == "EU/personal"
    args = {"prompt": "hello", "jurisdiction": "EU", "data_class": "personal", "strategy": "cheapest"}
    plan = ok(await client.call_tool("route_request", args))
    assert plan["candidates"] and plan["exclusions"]
    assert {c["deployment"] for c in plan["candidates"]} <= {m["deployment"] for m in models["deployments"]}


async def test_list_models_and_route_request_say_which_models_refuse_a_temperature(client: Client) -> None:
    models = ok(await client.call_tool("list_models", {}))["deployments"]
    refusing = {m["deployment"] for m in models if not m["accepts_temperature"]}
    assert "anthropic-claude-sonnet-5-5" in refusing and "anthropic-claude-sonnet-4-6" not in refusing
    args = {"prompt": "hello", "model": "claude-sonnet-5-5", "jurisdiction": "US", "data_class": "public"}
    assert ok(await client.call_tool("route_request", args))["candidates"]
    plan = ok(await client.call_tool("route_request", {**args, "temperature": 0.2}))
    assert plan["candidates"] == [] and "temperature" in plan["required"]
    assert all("refuses sampling parameters" in e["reason"] for e in plan["exclusions"])


async def test_complete_routes_reports_progress_and_leaves_a_verifiable_receipt(
    client: Client, provider_env: FakeProviders
) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    args = {"prompt": "hello", "model": "claude-sonnet-4-6", "jurisdiction": "US", "data_class": "public"}
    answer = ok(await client.call_tool("complete", args, progress_callback=on_progress))
    assert answer["text"] and answer["provider"] == "anthropic" and answer["model"] == "claude-sonnet-4-6"
    assert answer["usage"]["output_tokens"] > 0 and answer["cost_usd"] >= 0 and answer["attempts"]
    assert seen[-1][0] == seen[-1][1] and len(seen) >= 2
    receipt = ok(await client.call_tool("get_receipt", {"receipt_id": answer["receipt_id"]}))
    assert receipt["event_type"] == "completion" and receipt["principal"] == "local:tester"
    check = ok(await client.call_tool("verify_log", {}))
    assert check["ok"] is True and check["events_checked"] >= 1 and check["first_bad_seq"] is None
    assert provider_env.anthropic.seen()


async def test_a_slow_provider_call_sends_heartbeat_progress(
    client: Client, provider_env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polyroute.testing import Fault

    monkeypatch.setattr(router, "HEARTBEAT_SECONDS", 0.1)
    provider_env.anthropic.inject("claude-sonnet-4-6", Fault(delay=0.6))
    messages: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message)

    args = {
        "prompt": "slow",
        "model": "anthropic-claude-sonnet-4-6",
        "jurisdiction": "US",
        "data_class": "public",
    }
    ok(await client.call_tool("complete", args, progress_callback=on_progress))
    waiting = [m for m in messages if m and m.startswith("waiting for the provider")]
    assert len(waiting) >= 2 and messages[-1] == "answered by anthropic-claude-sonnet-4-6"


async def test_refused_completion_is_an_error_naming_why(client: Client) -> None:
    args = {
        "prompt": "hi",
        "model": "anthropic-claude-sonnet-4-6",
        "jurisdiction": "SA",
        "data_class": "government_secret",
    }
    message = refused(await client.call_tool("complete", args))
    assert "may not take government_secret data for SA" in message
    events = ok(await client.call_tool("query_events", {"event_type": "refusal"}))
    assert events["count"] == 1 and events["events"][0]["principal"] == "local:tester"


async def test_record_event_writes_an_external_event_that_queries_and_summaries_see(client: Client) -> None:
    written = ok(await client.call_tool("record_event", {
        "action": "emailed the report", "details": {"to": "legal"}, "request_id": "job-7"}))  # fmt: skip
    assert written["event_type"] == "event" and written["principal"] == "local:tester"
    assert written["details"] == {"to": "legal", "action": "emailed the report"} and written["seq"] == 1
    found = ok(
        await client.call_tool("query_events", {"event_type": "event", "principal": "local:tester"})
    )
    assert [event["id"] for event in found["events"]] == [written["id"]]
    summary = ok(await client.call_tool("summarize_usage", {"group_by": "principal"}))
    assert summary["rows"][0]["events"] == 1
    assert "no audit event" in refused(await client.call_tool("get_receipt", {"receipt_id": "evt_nope"}))


@pytest.mark.parametrize("log_queries", [False, True])
async def test_governance_queries_are_audited_only_when_log_queries_is_on(log_queries: bool) -> None:
    app = app_with(log_queries=log_queries)
    async with Client(suite.build(app)) as client:
        args = {"jurisdiction": "AE", "data_class": "personal", "deployment": "anthropic-claude-sonnet-4-6"}
        ok(await client.call_tool("check_residency", args))
        one = ["anthropic-claude-sonnet-4-6"]
        ok(await client.call_tool("estimate_cost", {"deployment": one[0], "prompt": "hi"}))
        ok(await client.call_tool("compare_costs", {"prompt": "hi", "deployments": one}))
        ok(await client.call_tool("list_allowed_deployments", {"jurisdiction": "GB", "data_class": "health"}))
        events = ok(await client.call_tool("query_events", {}))["events"]
    await app.aclose()
    kinds = sorted(event["event_type"] for event in events)
    assert kinds == (["cost_estimate"] * 2 + ["residency_check"] * 2 if log_queries else [])
    assert all(event["principal"] == "local:tester" for event in events)


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("list_models", {"require": ["teleport"]}, "require"),
    ("list_models", {"jurisdiction": "EU"}, "both"),
    ("route_request", {"prompt": 5}, "prompt"),
    ("route_request", {}, "prompt or messages"),
    ("route_request", {"prompt": "x", "dataclass": "personal"}, "unknown argument"),
    ("complete", {"prompt": "x", "max_tokens": 0}, "max_tokens"),
    ("complete", {"messages": [{"role": "system", "content": "x"}]}, "role"),
    ("estimate_cost", {"deployment": ["x"], "prompt": "hi"}, "deployment"),
    ("estimate_cost", {"deployment": "no-such-thing", "prompt": "hi"}, "unknown deployment"),
    ("compare_costs", {"prompt": "x", "deployments": "abc"}, "deployments"),
    ("budget_status", {"principal": "someone-else"}, "unknown argument"),
    ("check_residency", {"jurisdiction": "SA"}, "required"),
    ("list_allowed_deployments", {"jurisdiction": {"a": 1}, "data_class": "public"}, "jurisdiction"),
    ("explain_policy", {"jurisdiction": 3}, "jurisdiction"),
    ("query_events", {"limit": 0}, "limit"),
    ("verify_log", {"full": True}, "unknown argument"),
    ("summarize_usage", {"group_by": "galaxy"}, "group_by"),
    ("get_receipt", {}, "receipt_id is required"),
    ("record_event", {"action": ""}, "action"),
    ("no_such_tool", {}, "Unknown tool"),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "says"), MALFORMED, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(MALFORMED)]
)
async def test_bad_input_is_a_one_line_error_and_the_server_keeps_answering(
    client: Client, tool: str, arguments: dict[str, Any], says: str
) -> None:
    message = refused(await client.call_tool(tool, arguments))
    assert says in message
    assert "input_value" not in message  # values the caller sent are not echoed back
    assert ok(await client.call_tool("explain_policy", {"jurisdiction": "GB"}))["rules"]


async def test_catalog_and_policy_resources(client: Client, app: App) -> None:
    import json

    uris = {str(resource.uri) for resource in (await client.list_resources()).resources}
    assert uris == {"polyroute://catalog", "polyroute://policy"}
    catalog = json.loads((await client.read_resource("polyroute://catalog")).contents[0].text)  # type: ignore[union-attr]
    assert len(catalog["deployments"]) == len(app.catalog)
    policy = json.loads((await client.read_resource("polyroute://policy")).contents[0].text)  # type: ignore[union-attr]
    assert policy["version"] == app.policy.version and policy["rules"]


async def test_complete_on_a_bundled_bedrock_5x_entry_goes_through_invoke_model(
    client: Client, provider_env: FakeProviders
) -> None:
    """The bundled Claude 5.x Bedrock entries use InvokeModel with the Messages body (issue 10): the
    routed call reaches `/invoke`, not Converse, and the receipt carries the Messages usage."""
    args = {"prompt": "hello bedrock", "model": "bedrock-eu-claude-sonnet-5-5",
            "jurisdiction": "EU", "data_class": "personal"}  # fmt: skip
    answer = ok(await client.call_tool("complete", args))
    (seen,) = provider_env.bedrock.seen()
    assert seen.path == "/model/eu.anthropic.claude-sonnet-5-5/invoke"
    assert seen.body["anthropic_version"] == "bedrock-2023-05-31"
    assert answer["deployment"] == "bedrock-eu-claude-sonnet-5-5" and answer["provider"] == "bedrock"
    assert answer["text"].endswith("hello bedrock") and answer["usage"]["input_tokens"] > 0
    receipt = ok(await client.call_tool("get_receipt", {"receipt_id": answer["receipt_id"]}))
    assert receipt["event_type"] == "completion"
