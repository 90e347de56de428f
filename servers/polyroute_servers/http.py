"""Streamable HTTP for the MCP servers: `/mcp`, stateless (replicas work), behind the gate (`gate.py`:
Host/Origin checks, static or OAuth bearer tokens, body deadlines and caps), served by uvicorn with
request-head deadlines (`connection`). A non-loopback bind without tokens is refused. No OAuth metadata
is advertised for static tokens (a client told about an authorization server would try to log in to
it); only `[http.oauth]` adds it (oauthgate.py).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from polyroute.errors import ConfigError
from polyroute_servers.auth import Grant, load_grants
from polyroute_servers.connection import (
    BODY_TIMEOUT_S,
    KEEP_ALIVE_S,
    MAX_BODY_BYTES,
    TimedH11Protocol,
)
from polyroute_servers.gate import Exposition, Gate
from polyroute_servers.http_guard import StatelessGuard
from polyroute_servers.oauthgate import OAuthResource

if TYPE_CHECKING:
    import uvicorn

    from polyroute.app import App
    from polyroute_servers.toolkit import PolyrouteServer

log = logging.getLogger("polyroute.http")
MCP_PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_names(host: str, allowed_hosts: Sequence[str]) -> list[str]:
    """Loopback names always; the bind address (unless a wildcard) and every `--allowed-host` name too."""
    names: list[str] = list(LOOPBACK)
    if not is_loopback(host) and host not in ("0.0.0.0", "::", ""):
        names.append(host)
    names += [name.strip() for name in allowed_hosts if name.strip()]
    return list(dict.fromkeys(names))


def security_settings(host: str, allowed_hosts: Sequence[str]) -> TransportSecuritySettings:
    """The SDK's own Host/Origin settings for the same names (its check stays on behind the gate's)."""
    hosts: list[str] = []
    origins: list[str] = []
    for name in allowed_names(host, allowed_hosts):
        shown = f"[{name}]" if ":" in name else name
        hosts += [shown, f"{shown}:*"]
        origins += [f"{scheme}://{shown}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def build_http_app(
    server: PolyrouteServer,
    *,
    host: str,
    grants: Sequence[Grant],
    allowed_hosts: Sequence[str] = (),
    oauth: OAuthResource | None = None,
    metrics: Exposition | None = None,
    body_timeout: float = BODY_TIMEOUT_S,
) -> ASGIApp:
    """The whole ASGI app: the gate in front of the SDK's stateless Streamable HTTP app at `/mcp`."""
    security = security_settings(host, allowed_hosts)
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, transport_security=security, host=host,
        max_request_body_size=MAX_BODY_BYTES,
    )  # fmt: skip
    guarded = StatelessGuard(inner, path=MCP_PATH)
    names = allowed_names(host, allowed_hosts)
    gate = Gate(guarded, names=names, grants=grants, oauth=oauth, metrics=metrics, body_timeout=body_timeout)
    from polyroute_servers.dashboard import Dashboard

    gate.dashboard = Dashboard(server.app, gate, open_access=not grants and oauth is None)
    return gate


def _oauth(server: PolyrouteServer, app: App) -> OAuthResource | None:
    configured = app.settings.http.oauth
    if configured is None:
        return None
    return OAuthResource(configured, tool_scopes=server.scopes)


def uvicorn_config(
    asgi: ASGIApp, *, host: str, port: int, protocol: type[TimedH11Protocol] = TimedH11Protocol,
    keep_alive: int = KEEP_ALIVE_S,
) -> uvicorn.Config:  # fmt: skip
    """uvicorn as Polyroute runs it: h11 with request-head deadlines, short keep-alive, quiet logs."""
    import uvicorn

    return uvicorn.Config(
        asgi, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
        http=protocol, timeout_keep_alive=keep_alive,
    )  # fmt: skip


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
    metrics = app.telemetry.exposition if app.settings.telemetry.prometheus else None
    asgi = build_http_app(
        server, host=host, grants=grants, allowed_hosts=names, oauth=oauth, metrics=metrics
    )
    config = uvicorn_config(asgi, host=host, port=port)
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
