"""Serving the suite behind the HTTP gate for the OAuth tests: uvicorn on a loopback port in this process
(so a test can hand the gate a key cache with its own timings), spoken to over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import anyio
import uvicorn

from polyroute.app import App
from polyroute.oauthconfig import OAuthSettings
from polyroute.settings import Budget, load_settings
from polyroute.testing.ports import free_port
from polyroute_servers import suite
from polyroute_servers.auth import Grant
from polyroute_servers.http import Exposition, build_http_app
from polyroute_servers.jwks import KeyCache
from polyroute_servers.oauth import JwtVerifier
from polyroute_servers.oauthgate import OAuthResource


@contextmanager
def serving(app: App, oauth: OAuthSettings | None, *, grants: tuple[Grant, ...] = (),
            keys: KeyCache | None = None, port: int | None = None,
            metrics: Exposition | None = None) -> Iterator[str]:  # fmt: skip
    """The suite behind the gate on a loopback port (the one `oauth.resource` names); yields the base URL."""
    server = suite.build(app)
    resource = None
    if oauth is not None:
        verifier = JwtVerifier(oauth, keys)
        resource = OAuthResource(oauth, tool_scopes=server.scopes, verifier=verifier)
    asgi = build_http_app(server, host="127.0.0.1", grants=grants, oauth=resource, metrics=metrics)
    port = port or free_port()
    config = uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    web = uvicorn.Server(config)

    async def run() -> None:  # as serve_http does: the App closes on the loop its clients were made on
        try:
            await web.serve()
        finally:
            await app.aclose()

    thread = threading.Thread(target=anyio.run, args=(run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(10)


def make_app(**settings: Any) -> App:
    """A real App in the sandbox, with a daily budget for the `finance` team (the token's team claim)."""
    base = load_settings()
    budgets = [Budget(scope="team:finance", period="day", limit_usd=Decimal("5"))]
    return App(base.model_copy(update={"budgets": budgets, **settings}), principal="local:tester")
