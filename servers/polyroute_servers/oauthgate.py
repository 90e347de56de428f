"""The HTTP side of the OAuth resource server: metadata, challenges, and scope checks before the SDK.

Only built when `[http.oauth]` is configured; without it nothing here runs and no metadata is served
(a client told about an authorization server would try to log in to it, which static tokens cannot).
With it: `/.well-known/oauth-protected-resource` (and its `/mcp`-suffixed form, RFC 9728 §3.1) is
public; a missing or refused token gets 401 whose `WWW-Authenticate` points at that document; an OAuth
token whose scopes do not cover the tool it calls gets 403 `insufficient_scope` naming the scope, which
is how the MCP authorization spec lets a client step up (ask for that scope and retry).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.routes import build_resource_metadata_url
from pydantic import AnyHttpUrl
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive

from polyroute.oauthconfig import OAuthSettings
from polyroute_servers.jwks import KeysUnavailable
from polyroute_servers.oauth import (
    PRINCIPAL_PREFIX,
    JwtVerifier,
    TokenRejected,
    header_safe,
    protected_resource_metadata,
    supported_scopes,
)

log = logging.getLogger("polyroute.oauth")
WELL_KNOWN = "/.well-known/oauth-protected-resource"
ALL = "*"
RESOURCE_SCOPES = ("route", "governance:read")  # either reads a resource; the first is the one to ask for


class OAuthResource:
    """What the HTTP gate needs from OAuth: metadata, token checks, challenges, tool-scope checks."""

    def __init__(
        self,
        settings: OAuthSettings,
        *,
        tool_scopes: Mapping[str, str],
        verifier: JwtVerifier | None = None,
    ) -> None:
        self.settings = settings
        self.verifier = verifier or JwtVerifier(settings)
        self.tool_scopes = dict(tool_scopes)
        self.metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.resource)))
        suffixed = AnyHttpUrl(self.metadata_url).path or WELL_KNOWN
        self.metadata_paths = frozenset({WELL_KNOWN, suffixed, f"{WELL_KNOWN}/mcp"})
        self.document = protected_resource_metadata(settings)
        # The public name in `resource` is one clients (or the proxy in front) send as Host: accept it.
        self.host_names = tuple(name for name in [urlsplit(settings.resource).hostname] if name)

    def metadata_response(self) -> Response:
        """Public and cacheable; CORS-open so browser-based MCP clients can discover the server too."""
        headers = {"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}
        return JSONResponse(self.document, headers=headers)

    def challenge(
        self, error: str | None, description: str, *, status: int = 401, scope: str = ""
    ) -> Response:
        parts = ['Bearer realm="polyroute"', f'resource_metadata="{self.metadata_url}"']
        if error:
            parts += [f'error="{error}"', f'error_description="{header_safe(description)}"']
        if scope:
            parts.append(f'scope="{scope}"')
        body = json.dumps({"error": error or "unauthorized", "error_description": description})
        headers = {"WWW-Authenticate": ", ".join(parts)}
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    async def authenticate(self, token: str) -> AuthenticatedUser | Response:
        try:
            access = await self.verifier.verify(token)
        except TokenRejected as refusal:
            log.info("refused an OAuth token: %s", refusal)
            return self.challenge("invalid_token", str(refusal))
        except KeysUnavailable as error:
            log.warning("%s", error)
            body = {"error": "temporarily_unavailable", "error_description": str(error)}
            return JSONResponse(body, status_code=503, headers={"Retry-After": "30"})
        if not set(access.scopes):
            wanted = " ".join(supported_scopes(self.settings))
            return self.challenge("insufficient_scope", "the token grants none of Polyroute's scopes",
                                  status=403, scope=wanted)  # fmt: skip
        return AuthenticatedUser(access)  # its team claim travels with it: `toolkit.caller_teams`

    async def scope_refusal(
        self, user: AuthenticatedUser, receive: Receive
    ) -> tuple[Response | None, Receive]:
        """403 when an OAuth token calls a tool (or reads a resource) its scopes do not cover.

        Reads the JSON-RPC body (and hands it on unchanged) because HTTP is the only layer where the
        spec's step-up signal can be given; the toolkit checks scopes again for every other path.
        """
        if not user.access_token.client_id.startswith(PRINCIPAL_PREFIX) or ALL in user.scopes:
            return None, receive
        body, replay = await _buffer(receive)
        needed = _needed_scopes(body, self.tool_scopes)
        missing = sorted({either[0] for either in needed if not set(either) & set(user.scopes)})
        if not missing:
            return None, replay
        what = ", ".join(missing)
        return self.challenge("insufficient_scope", f"this call needs the {what} scope",
                              status=403, scope=" ".join(missing)), replay  # fmt: skip


def _needed_scopes(body: bytes, tool_scopes: Mapping[str, str]) -> set[tuple[str, ...]]:
    """What the JSON-RPC request(s) in `body` need, each as alternatives (any one will do); unreadable
    bodies are left to the SDK, which answers them with its own errors."""
    try:
        parsed: Any = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return set()
    needed: set[tuple[str, ...]] = set()
    for message in parsed if isinstance(parsed, list) else [parsed]:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(message, dict):
            continue
        method, params = message.get("method"), message.get("params")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        name = params.get("name") if isinstance(params, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if method == "tools/call" and isinstance(name, str) and name in tool_scopes:
            needed.add((tool_scopes[name],))
        elif method == "resources/read":
            needed.add(RESOURCE_SCOPES)
    return needed


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that gives it to the next app as if unread."""
    chunks: list[bytes] = []
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending.insert(0, {"type": "http.request", "body": body, "more_body": False})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return body, replay
