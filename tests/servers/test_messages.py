"""What a person reads back: plain argument errors, and results that match each tool's outputSchema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from mcp import Client
from tests.servers.test_tools import ok, refused

from polyroute.testing import FakeProviders

pytestmark = pytest.mark.anyio

PLAIN: list[tuple[str, dict[str, Any], str]] = [
    ("explain_policy", {"jurisdiction": 5}, "jurisdiction must be a string"),
    ("route_request", {"prompt": "x", "max_tokens": 0}, "max_tokens must be at least 1"),
    ("route_request", {"prompt": "x", "max_tokens": "lots"}, "max_tokens must be a whole number"),
    ("route_request", {"prompt": "x", "strategy": "fast"}, "strategy must be 'cheapest', 'fastest'"),
    ("route_request", {"messages": [{"role": "user", "content": 5}]}, "content must be a string or a list"),
    (
        "route_request",
        {"messages": [{"role": "user", "content": [{"type": "image", "data": "x"}]}]},
        "messages[0].content[0].media_type is required",
    ),
    ("complete", {"messages": [{"role": "user", "content": "x", "tone": 1}]}, "messages[0].tone is not a"),
    ("query_events", {"since": "yesterday"}, "since must be an RFC 3339 date-time"),
    ("query_events", {"allowed": "maybe"}, "allowed must be true or false"),
    ("record_event", {"action": ""}, "action must not be empty"),
    ("record_event", {"action": "x", "details": "text"}, "details must be an object"),
]  # fmt: skip


@pytest.mark.parametrize(("tool", "arguments", "says"), PLAIN, ids=[case[2][:30] for case in PLAIN])
async def test_argument_errors_read_as_plain_sentences(
    client: Client, tool: str, arguments: dict[str, Any], says: str
) -> None:
    message = refused(await client.call_tool(tool, arguments))
    assert says in message
    assert "Input should" not in message and "tagged-union" not in message


async def test_list_models_refuses_a_jurisdiction_or_class_the_policy_does_not_know(client: Client) -> None:
    for jurisdiction, data_class in (("XX", "public"), ("SA", "govt")):
        message = refused(
            await client.call_tool("list_models", {"jurisdiction": jurisdiction, "data_class": data_class})
        )
        assert "no rule" in message and "SA" in message
    assert ok(await client.call_tool("list_models", {"jurisdiction": "sa", "data_class": "personal"}))


async def test_every_tools_result_validates_against_its_output_schema(
    client: Client, provider_env: FakeProviders
) -> None:
    schemas = {tool.name: tool.output_schema or {} for tool in (await client.list_tools()).tools}
    done = ok(
        await client.call_tool("complete", {"prompt": "hi", "jurisdiction": "EU", "data_class": "personal"})
    )
    calls: dict[str, dict[str, Any]] = {
        "list_models": {"jurisdiction": "EU", "data_class": "personal"},
        "route_request": {"prompt": "hi", "jurisdiction": "SA", "data_class": "government_secret"},
        "estimate_cost": {"deployment": done["deployment"], "prompt": "hi"},
        "compare_costs": {"prompt": "hi", "jurisdiction": "EU", "data_class": "personal"},
        "budget_status": {},
        "check_residency": {"jurisdiction": "SA", "data_class": "personal", "deployment": done["deployment"]},
        "list_allowed_deployments": {"jurisdiction": "AE", "data_class": "personal"},
        "explain_policy": {"jurisdiction": "SA", "data_class": "personal"},
        "record_event": {"action": "emailed report", "details": {"to": "board"}, "jurisdiction": "SA"},
        "query_events": {"limit": 5},
        "verify_log": {},
        "summarize_usage": {"group_by": "principal"},
        "get_receipt": {"receipt_id": done["receipt_id"]},
        "explain_route": {"receipt_id": done["receipt_id"]},
        "simulate_change": {},
    }
    jsonschema.validate(done, schemas["complete"])
    assert set(calls) | {"complete"} == set(schemas)
    for name, arguments in calls.items():
        jsonschema.validate(ok(await client.call_tool(name, arguments)), schemas[name])


async def test_estimate_cost_never_sends_a_prompt_where_residency_forbids_it(
    client: Client, provider_env: FakeProviders
) -> None:
    args = {"deployment": "anthropic-claude-sonnet-4-6", "prompt": "سري للغاية", "jurisdiction": "SA",
            "exact": True}  # fmt: skip
    quote = ok(await client.call_tool("estimate_cost", {**args, "data_class": "government_secret"}))
    assert quote["input_method"] != "provider_api" and "not even to count" in quote["notes"][0]
    assert not provider_env.anthropic.seen()  # the text never left for the count-tokens API
    allowed = ok(await client.call_tool("estimate_cost", {**args, "data_class": "public"}))
    assert allowed["input_method"] == "provider_api"
