"""Requests-per-minute quotas end to end: a real MCP client over Streamable HTTP, two token principals on
one server; one reaches its quota and is told which quota and when to retry, the other goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from oauth_serving import serving

from polyroute.app import App
from polyroute.settings import Budget, load_settings
from polyroute.testing import FakeProviders
from polyroute_servers.auth import Grant, digest

pytestmark = [pytest.mark.anyio]
COMPLETE = {"prompt": "hello", "model": "claude-sonnet-4-6", "jurisdiction": "US", "data_class": "public"}
GRANTS = (
    Grant("alice", digest("alice-token"), frozenset({"*"})),
    Grant("bob", digest("bob-token"), frozenset({"*"})),
)


@asynccontextmanager
async def mcp_as(base: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=20) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


def limited_app() -> App:
    budgets = [
        Budget(scope="principal:http:alice", requests_per_minute=2),
        Budget(scope="principal:http:alice", period="day", limit_usd=Decimal("5")),
        Budget(scope="principal:http:bob", requests_per_minute=10),
    ]
    return App(load_settings().model_copy(update={"budgets": budgets}), principal="local:tester")


async def test_one_principal_reaches_its_quota_and_is_told_when_to_retry_while_another_goes_on(
    provider_env: FakeProviders,
) -> None:
    with serving(limited_app(), None, grants=GRANTS) as base:
        async with mcp_as(base, "alice-token") as alice, mcp_as(base, "bob-token") as bob:
            answers = [await alice.call_tool("complete", COMPLETE) for _ in range(3)]
            others = [await bob.call_tool("complete", COMPLETE) for _ in range(3)]
            refusals = await alice.call_tool("query_events", {"event_type": "refusal"})
            limits = await alice.call_tool("budget_status", {})
    assert [a.is_error for a in answers] == [False, False, True]
    assert [o.is_error for o in others] == [False, False, False]  # bob's quota is his own
    refused = answers[2]
    text = refused.content[0].text  # type: ignore[union-attr]
    assert "requests-per-minute quota of principal http:alice is used up (2 per minute" in text
    assert "retry in" in text and " UTC" in text
    fields: dict[str, Any] = refused.structured_content or {}
    assert fields["error"] == "QuotaExceeded" and fields["scope"] == "principal:http:alice"
    assert 55 <= fields["retry_after_s"] <= 60 and fields["retry_at"].endswith("Z")
    assert len([r for server in provider_env.servers for r in server.seen()]) == 5  # 2 + 3 reached providers
    (event,) = (refusals.structured_content or {})["events"]
    assert event["principal"] == "http:alice" and event["allowed"] is False
    assert event["details"]["quota"]["retry_after_s"] == fields["retry_after_s"]
    report = limits.structured_content or {}
    assert [(q["scope"], q["used"]) for q in report["quotas"]] == [("principal:http:alice", 2)]
    assert report["budgets"][0]["reserved_usd"] == 0  # the refused call reserved nothing
