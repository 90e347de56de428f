"""The suite behind the HTTP gate with real routed calls made through `/mcp` on the wire fakes, for the
dashboard tests (HTTP-level and in a real browser): a completion, a budget refusal and a residency
refusal, by principals whose tokens have different scopes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from oauth_serving import serving

from polyroute.app import App
from polyroute.settings import Budget, load_settings
from polyroute_servers.auth import Grant, digest

ADMIN, READER, ROUTER, CAPPED = (
    "admin-token-0123456789",
    "reader-token-0123456789",
    "router-token-012345",
    "capped-token-0123456",
)
GRANTS = (
    Grant("admin", digest(ADMIN), frozenset({"*"})),
    Grant("auditor", digest(READER), frozenset({"governance:read", "audit:read"})),
    Grant("agent", digest(ROUTER), frozenset({"route"})),
    Grant("capped", digest(CAPPED), frozenset({"route"})),
)
COMPLETE = {"prompt": "hello", "model": "claude-sonnet-4-6", "jurisdiction": "US", "data_class": "public"}
DENIED = {
    "prompt": "hello",
    "model": "claude-sonnet-4-6",
    "jurisdiction": "SA",
    "data_class": "government_secret",
}


@dataclass
class Site:
    base: str
    app: App
    receipts: dict[str, list[str]]


def make_app() -> App:
    budgets = [
        Budget(scope="principal:http:capped", period="day", limit_usd=Decimal("0.0000001")),
        Budget(scope="team:ops", period="month", limit_usd=Decimal("25")),
    ]
    settings = load_settings().model_copy(update={"budgets": budgets, "teams": {"ops": ["http:agent"]}})
    return App(settings, principal="local:tester")


async def _calls(base: str, token: str, calls: list[dict[str, Any]]) -> list[Any]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        return [await client.call_tool("complete", arguments) for arguments in calls]


def routed_calls(base: str) -> dict[str, list[str]]:
    """Two completions, then a budget refusal and a residency refusal; receipt ids by outcome."""
    done = anyio.run(_calls, base, ROUTER, [COMPLETE, COMPLETE, DENIED])
    refused = anyio.run(_calls, base, CAPPED, [COMPLETE])
    completed = [
        str(r.structured_content["receipt_id"]) for r in done if not r.is_error and r.structured_content
    ]
    assert len(completed) == 2, done
    assert all(r.is_error for r in [done[2], *refused])
    return {"completed": completed}


@contextmanager
def site() -> Iterator[Site]:
    app = make_app()
    with serving(app, None, grants=GRANTS) as base:
        yield Site(base, app, routed_calls(base))
