"""`/dashboard`: a read-only governance page behind the same gate as `/mcp` (docs/dashboard.md).

Who may look: a bearer token (static or OAuth) in the `Authorization` header, or — for a browser — a
session opened by the login form (dashboard_session.py: the token is checked once, never stored, and
the cookie is HttpOnly, SameSite=Strict, Secure off loopback). Both need `governance:read` and
`audit:read` (or `*`). A server with no tokens at all is loopback-only (serve_http refuses anything
else), and there the page is open like `/mcp`. Every view is a GET that changes nothing; the only
POSTs are login and logout, which the gate's Origin check and SameSite=Strict keep same-site.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, unquote

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from polyroute_servers.auth import ALL, AUDIT_READ, GOVERNANCE_READ
from polyroute_servers.dashboard_session import COOKIE, LIFETIME_S, Session, Sessions
from polyroute_servers.dashboard_views import (
    BASE,
    dashboard_page,
    forbidden_page,
    login_page,
    page,
    receipt_page,
)

if TYPE_CHECKING:
    from polyroute.app import App

log = logging.getLogger("polyroute.dashboard")
NEEDED = frozenset({GOVERNANCE_READ, AUDIT_READ})
MAX_FORM = 16_384  # a login form is a token; anything bigger is refused before it is read in full
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # not no-referrer: with it Chrome sends `Origin: null` on the login POST, which the gate refuses
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class Authenticator(Protocol):
    async def authenticate(self, header: str | None) -> AuthenticatedUser | Response: ...


def allowed(scopes: frozenset[str]) -> bool:
    return ALL in scopes or scopes >= NEEDED


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})


class Dashboard:
    """The ASGI app for every path under /dashboard; the gate has already checked Host and Origin."""

    def __init__(
        self, app: App, gate: Authenticator, *, open_access: bool, sessions: Sessions | None = None
    ) -> None:
        self.app = app
        self.gate = gate
        self.open_access = open_access
        self.sessions = sessions or Sessions()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._respond(request)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        path, method = request.url.path.rstrip("/") or "/", request.method
        if path == f"{BASE}/login":
            return await self._login(request) if method == "POST" else _html(login_page())
        if path == f"{BASE}/logout" and method == "POST":
            self.sessions.close(request.cookies.get(COOKIE))
            response = RedirectResponse(f"{BASE}/login", status_code=303, headers=HEADERS)
            response.delete_cookie(COOKIE, path=BASE)
            return response
        if method not in ("GET", "HEAD"):
            return _html(page("Not allowed", "<p>The dashboard only reads.</p>"), 405, {"Allow": "GET, HEAD"})
        who = await self._who(request)
        if isinstance(who, Response):
            return who
        if not allowed(who.scopes):
            return _html(forbidden_page(who.principal), 403)
        return await self._view(path, who)

    async def _who(self, request: Request) -> Session | Response:
        header = request.headers.get("authorization")
        if header is not None:
            user = await self.gate.authenticate(header)
            if isinstance(user, Response):
                return user
            return Session(user.access_token.client_id, frozenset(user.scopes), 0.0)
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is not None:
            return session
        if self.open_access:
            return Session("local (no tokens configured: loopback only)", frozenset({ALL}), 0.0)
        return _html(login_page(), 401, {"WWW-Authenticate": 'Bearer realm="polyroute"'})

    async def _view(self, path: str, who: Session) -> Response:
        from polyroute.audit.receipt import find_receipt
        from polyroute_servers.dashboard_data import snapshot

        if path == BASE:
            return _html(dashboard_page(await snapshot(self.app, who.principal)))
        if path.startswith(f"{BASE}/receipt/"):
            receipt_id = unquote(path.removeprefix(f"{BASE}/receipt/"))
            receipt = (
                await find_receipt(self.app.audit, receipt_id) if receipt_id.startswith("evt_") else None
            )
            if receipt is None:
                return _html(
                    page("No such receipt", "<p>The audit log has no event with that id.</p>", who.principal),
                    404,
                )
            return _html(receipt_page(receipt, who.principal))
        return _html(page("Not found", "<p>No such dashboard page.</p>", who.principal), 404)

    async def _login(self, request: Request) -> Response:
        if int(request.headers.get("content-length") or 0) > MAX_FORM:
            return _html(login_page("That is not a token."), 413)
        form = parse_qs((await request.body())[:MAX_FORM].decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        user = await self.gate.authenticate(f"Bearer {token}") if token else None
        if not isinstance(user, AuthenticatedUser):
            return _html(login_page("That token is not one this server accepts."), 401)
        scopes = frozenset(user.scopes)
        if not allowed(scopes):
            return _html(forbidden_page(user.access_token.client_id), 403)
        expires = user.access_token.expires_at
        session_id = self.sessions.open(
            user.access_token.client_id, scopes, float(expires) if expires else None
        )
        log.info("dashboard session opened for %s", user.access_token.client_id)
        response = RedirectResponse(BASE, status_code=303, headers=HEADERS)
        secure = not _loopback(request)
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(LIFETIME_S),
            path=BASE,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return response


def _loopback(request: Request) -> bool:
    from polyroute_servers.http import is_loopback

    host = request.url.hostname or ""
    return is_loopback(host)
