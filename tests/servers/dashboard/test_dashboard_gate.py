"""The dashboard's front door in process (ASGI): the Secure flag off loopback, the open page of a
token-less loopback server, and session lifetimes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from dashboard_serving import ADMIN, GRANTS

from polyroute.app import App
from polyroute_servers import suite
from polyroute_servers.auth import Grant
from polyroute_servers.dashboard_session import LIFETIME_S, Sessions
from polyroute_servers.http import build_http_app

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _client(grants: tuple[Grant, ...], base: str) -> AsyncIterator[httpx2.AsyncClient]:
    app = App(principal="local:tester")
    asgi = build_http_app(suite.build(app), host="127.0.0.1", grants=grants, allowed_hosts=["dash.example"])
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=asgi), base_url=base) as http:
            yield http
    finally:
        await app.aclose()


async def test_off_loopback_the_session_cookie_is_secure() -> None:
    async with _client(GRANTS, "http://dash.example") as http:
        login = await http.post("/dashboard/login", data={"token": ADMIN})
    assert login.status_code == 303 and "; Secure" in login.headers["set-cookie"]


async def test_a_server_without_tokens_shows_the_page_on_loopback() -> None:
    async with _client((), "http://127.0.0.1") as http:
        page = await http.get("/dashboard")
    assert page.status_code == 200 and "no tokens configured: loopback only" in page.text


async def test_a_foreign_host_is_refused_before_the_dashboard() -> None:
    async with _client(GRANTS, "http://attacker.example") as http:
        page = await http.get("/dashboard", headers={"Authorization": f"Bearer {ADMIN}"})
    assert page.status_code == 421


def test_sessions_end_after_their_lifetime_or_the_tokens_expiry() -> None:
    now = [1_000.0]
    sessions = Sessions(clock=lambda: now[0])
    long = sessions.open("http:admin", frozenset({"*"}))
    short = sessions.open("oauth:agent", frozenset({"*"}), token_expires=1_060.0)
    now[0] = 1_061.0
    assert sessions.get(long) is not None and sessions.get(short) is None
    now[0] = 1_000.0 + LIFETIME_S
    assert sessions.get(long) is None and sessions.get("not-a-session") is None and sessions.get(None) is None
