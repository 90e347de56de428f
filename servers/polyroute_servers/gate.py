"""The ASGI gate in front of the SDK's Streamable HTTP app: every request passes it before any tool runs.

Order matters: `/healthz` and the RFC 9728 metadata answer without a token; then Host (421) and Origin
(403), parsed exactly (`hostcheck`); `/metrics` for `governance:read`; then the bearer token once any is
configured — static (`auth`) or OAuth (`oauthgate`), 401 with `WWW-Authenticate` otherwise; then the body
within a deadline and a size cap (`connection`: 408 / 413); for OAuth, the scope the JSON-RPC method
needs (403). A known token becomes the SDK's access token, so tools see its principal and scopes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from polyroute_servers.auth import Grant, find_grant
from polyroute_servers.connection import BODY_TIMEOUT_S, MAX_BODY_BYTES, read_body
from polyroute_servers.hostcheck import HostCheck
from polyroute_servers.oauthgate import OAuthResource

HEALTH_PATH, METRICS_PATH, DASHBOARD_PATH = "/healthz", "/metrics", "/dashboard"
METRICS_SCOPES = frozenset({"governance:read", "*"})
Exposition = Callable[[], tuple[bytes, str]]  # Prometheus text and its content type


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
        names: Sequence[str],
        grants: Sequence[Grant],
        oauth: OAuthResource | None = None,
        metrics: Exposition | None = None,
        max_body: int = MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.hosts = HostCheck(names)
        self.grants = tuple(grants)
        # The user each static token acts as, built once: a grant never changes while the server runs.
        self._users = {grant: _user(grant) for grant in self.grants}
        self.oauth = oauth
        self.metrics = metrics
        self.dashboard: ASGIApp | None = None  # /dashboard (dashboard.py): authenticates through this gate
        self.max_body, self.body_timeout = max_body, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        early = self._answer_without_token(request)
        if early is not None:
            await early(scope, receive, send)
            return
        side = self._side_app(request)
        if side is not None:
            await side(scope, receive, send)
            return
        user = None
        if self.grants or self.oauth is not None:
            user = await self._authenticate(request.headers.get("authorization"))
            if isinstance(user, Response):
                await user(scope, receive, send)
                return
        body = await read_body(scope, receive, send, limit=self.max_body, timeout=self.body_timeout)
        if body is None:
            return
        if user is None:
            await self.app(scope, body, send)
            return
        if self.oauth is not None:  # reads the (already size-capped) body to find the method's scope
            refusal, body = await self.oauth.scope_refusal(user, body)
            if refusal is not None:
                await refusal(scope, body, send)
                return
        scope["user"], scope["auth"] = user, AuthCredentials(user.scopes)
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, body, send)
        finally:
            auth_context_var.reset(reset)

    def _side_app(self, request: Request) -> ASGIApp | None:
        """`/metrics` and `/dashboard`, which check their own scopes (through this gate's tokens)."""
        path = request.scope["path"]
        if path == METRICS_PATH and self.metrics is not None:
            return self._metrics_app
        if self.dashboard is not None and path.startswith(DASHBOARD_PATH):
            return self.dashboard
        return None

    async def _metrics_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self._metrics(Request(scope)))(scope, receive, send)

    def _answer_without_token(self, request: Request) -> Response | None:
        """Health and RFC 9728 metadata (public), then Host (421) and Origin (403), before any token."""
        path = request.scope["path"]
        if path == HEALTH_PATH:  # for load balancers: says nothing but "alive"
            return PlainTextResponse("ok")
        if self.oauth is not None and path in self.oauth.metadata_paths:  # public, RFC 9728
            return self.oauth.metadata_response()
        if not self.hosts.host_ok(request.headers.get("host")):
            return Response("Invalid Host header", status_code=421)
        if not self.hosts.origin_ok(request.headers.get("origin")):
            return Response("Invalid Origin header", status_code=403)
        return None

    async def _metrics(self, request: Request) -> Response:
        """Prometheus text; once tokens are configured, only for `governance:read` (docs/observability.md)."""
        if self.grants or self.oauth is not None:
            user = await self._authenticate(request.headers.get("authorization"))
            if isinstance(user, Response):
                return user
            if not METRICS_SCOPES & set(user.scopes):
                return PlainTextResponse("/metrics needs scope governance:read", status_code=403)
        assert self.metrics is not None
        body, content_type = self.metrics()
        return Response(body, media_type=content_type)

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
        return self._users[grant]


def _user(grant: Grant) -> AuthenticatedUser:
    """The user a static token acts as. The raw token is never kept: tools and logs see only the
    principal and scopes."""
    return AuthenticatedUser(AccessToken(token="", client_id=grant.caller, scopes=sorted(grant.scopes)))
