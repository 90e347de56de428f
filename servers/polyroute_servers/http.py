"""Streamable HTTP for the MCP servers: `/mcp`, stateless (replicas work), Host/Origin checks, bearer tokens.

The gate in front of the SDK's app checks Host and Origin first (DNS-rebinding protection is always on:
a bad Host gets 421, a bad Origin 403), then the bearer token once any token is configured (none or an
unknown one gets 401 with `WWW-Authenticate: Bearer`). A known token becomes the SDK's access token, so
tools see its principal and scopes. No OAuth metadata is advertised for static tokens (a client told
about an authorization server would try to log in to it); only `[http.oauth]` adds it (oauthgate.py).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from polyroute.errors import ConfigError
from polyroute_servers.auth import Grant, find_grant, load_grants
from polyroute_servers.http_guard import StatelessGuard
from polyroute_servers.oauthgate import OAuthResource

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute_servers.toolkit import PolyrouteServer

log = logging.getLogger("polyroute.http")
MCP_PATH, HEALTH_PATH, DASHBOARD_PATH = "/mcp", "/healthz", "/dashboard"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_settings(host: str, allowed_hosts: Sequence[str]) -> TransportSecuritySettings:
    """Loopback names always; the bind address (unless a wildcard) and every `--allowed-host` name too."""
    names: list[str] = list(LOOPBACK)
    if not is_loopback(host) and host not in ("0.0.0.0", "::", ""):
        names.append(host)
    names += [name.strip() for name in allowed_hosts if name.strip()]
    hosts: list[str] = []
    origins: list[str] = []
    for name in dict.fromkeys(names):
        shown = f"[{name}]" if ":" in name else name
        hosts += [shown, f"{shown}:*"]
        origins += [f"{scheme}://{shown}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def _challenge(error: str | None, description: str) -> Response:
    header = 'Bearer realm="polyroute"' + (
        f', error="{error}", error_description="{description}"' if error else ""
    )
    body = json.dumps({"error": error or "unauthorized", "error_description": description})
    return Response(
        body, status_code=401, media_type="application/json", headers={"WWW-Authenticate": header}
    )


class Gate:
    """ASGI middleware: Host/Origin checks, then bearer-token authentication when tokens are configured."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        security: TransportSecuritySettings,
        grants: Sequence[Grant],
        oauth: OAuthResource | None = None,
    ) -> None:
        self.app = app
        self.security = TransportSecurityMiddleware(security)
        self.grants = tuple(grants)
        self.oauth = oauth
        self.dashboard: ASGIApp | None = None  # /dashboard (dashboard.py): authenticates through this gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == HEALTH_PATH:  # for load balancers: says nothing but "alive"
            await PlainTextResponse("ok")(scope, receive, send)
            return
        if self.oauth is not None and scope["path"] in self.oauth.metadata_paths:  # public, RFC 9728
            await self.oauth.metadata_response()(scope, receive, send)
            return
        request = Request(scope)
        refusal = await self.security.validate_request(request, is_post=False)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if self.dashboard is not None and scope["path"].startswith(DASHBOARD_PATH):
            await self.dashboard(scope, receive, send)
            return
        if not self.grants and self.oauth is None:
            await self.app(scope, receive, send)
            return
        user = await self._authenticate(request.headers.get("authorization"))
        if isinstance(user, Response):
            await user(scope, receive, send)
            return
        if self.oauth is not None:
            refusal, receive = await self.oauth.scope_refusal(user, receive)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        scope["user"], scope["auth"] = user, AuthCredentials(user.scopes)
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def authenticate(self, header: str | None) -> AuthenticatedUser | Response:
        """The bearer-token check (static grants, then OAuth), also for the dashboard's login form."""
        return await self._authenticate(header)

    async def _authenticate(self, header: str | None) -> AuthenticatedUser | Response:
        scheme, _, token = (header or "").partition(" ")
        challenge = _challenge if self.oauth is None else self.oauth.challenge
        if scheme.lower() != "bearer" or not token.strip():
            return challenge(None, "this server needs a bearer token (Authorization: Bearer <token>)")
        grant = find_grant(self.grants, token.strip())
        if grant is None and self.oauth is not None:
            return await self.oauth.authenticate(token.strip())
        if grant is None:
            return _challenge("invalid_token", "the bearer token is not one this server knows")
        # The raw token is never kept: tools and logs see only the principal and scopes.
        access = AccessToken(token="", client_id=grant.caller, scopes=sorted(grant.scopes))
        return AuthenticatedUser(access)


def build_http_app(
    server: PolyrouteServer,
    *,
    host: str,
    grants: Sequence[Grant],
    allowed_hosts: Sequence[str] = (),
    oauth: OAuthResource | None = None,
) -> ASGIApp:
    """The whole ASGI app: the gate in front of the SDK's stateless Streamable HTTP app at `/mcp`."""
    security = security_settings(host, allowed_hosts)
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, transport_security=security, host=host
    )
    gate = Gate(StatelessGuard(inner, path=MCP_PATH), security=security, grants=grants, oauth=oauth)
    from polyroute_servers.dashboard import Dashboard

    gate.dashboard = Dashboard(server.app, gate, open_access=not grants and oauth is None)
    return gate


def _oauth(server: PolyrouteServer, app: App) -> OAuthResource | None:
    configured = app.settings.http.oauth
    if configured is None:
        return None
    return OAuthResource(configured, tool_scopes=server.scopes, app_settings=app.settings)


def _grants(app: App, host: str, env: Mapping[str, str]) -> list[Grant]:
    """The configured tokens; none is fine only on loopback."""
    grants = load_grants(app.settings, env)
    if not grants and app.settings.http.oauth is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without bearer tokens: set POLYROUTE_HTTP_TOKENS, "
            "[[http.tokens]] or [http.oauth] (docs/http.md), or bind 127.0.0.1"
        )
    return grants


def _listen(host: str, port: int) -> socket.socket:
    """Bind before serving, so a taken port is one clear line (exit 2), not a uvicorn log and exit 3."""
    try:
        # proto must be IPPROTO_TCP (as getaddrinfo gives it): asyncio only sets TCP_NODELAY on accepted
        # sockets whose proto says TCP, and without it small responses wait ~40 ms for delayed ACKs.
        family, kind, proto = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][:3]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as error:
        raise ConfigError(f"cannot listen on {host} port {port}: {error.strerror or error}") from None
    return listener


def _announce(
    name: str, host: str, port: int, *, tokens: int, named: bool, issuer: str | None = None
) -> None:
    """One line on stderr saying where it listens (the real port when --port 0 let the OS pick)."""
    shown = f"[{host}]" if ":" in host else host
    auth = f"{tokens} bearer token(s)" if tokens else "no tokens: loopback only"
    if issuer is not None:
        auth = f"OAuth tokens from {issuer}" + (f" and {tokens} bearer token(s)" if tokens else "")
    sys.stderr.write(f"polyroute: {name} on http://{shown}:{port}{MCP_PATH} ({auth})\n")
    if host in ("0.0.0.0", "::", "") and not named:
        sys.stderr.write("polyroute: only loopback Host names are accepted; add --allowed-host NAME for each "
                         "name or address clients use to reach this server\n")  # fmt: skip


def serve_http(
    server: PolyrouteServer,
    app: App,
    *,
    host: str,
    port: int,
    allowed_hosts: Sequence[str],
    env: Mapping[str, str],
) -> int:
    """Run until interrupted. Refuses (ConfigError, exit 2) a non-loopback bind without tokens."""
    import anyio
    import uvicorn

    grants = _grants(app, host, env)
    oauth = _oauth(server, app)
    names = [*app.settings.http.allowed_hosts, *allowed_hosts, *(oauth.host_names if oauth else ())]
    asgi = build_http_app(server, host=host, grants=grants, allowed_hosts=names, oauth=oauth)
    config = uvicorn.Config(asgi, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    listener = _listen(host, port)
    issuer = oauth.settings.issuer if oauth else None
    _announce(
        server.name, host, listener.getsockname()[1], tokens=len(grants), named=bool(names), issuer=issuer
    )

    web = uvicorn.Server(config)

    async def run() -> None:
        try:
            await web.serve(sockets=[listener])
        finally:
            await app.aclose()

    def stop(*_: object) -> None:
        web.should_exit = True

    # uvicorn shuts down gracefully on SIGTERM, then re-raises it. Until it takes the signal over (and
    # after), this handler asks it to stop, so a SIGTERM during start-up is not lost and the App closes.
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        anyio.run(run)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
