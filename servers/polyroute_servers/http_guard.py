"""Two answers the SDK's stateless Streamable HTTP app gets wrong for a person reading them with curl.

- `GET /mcp` opened an SSE stream that never carries anything: a stateless server offers no stream,
  and the spec lets such a server answer 405 Method Not Allowed instead (with `Allow: POST`).
- An `MCP-Protocol-Version` header naming a version the SDK does not speak fell through to its
  per-request-envelope path and came back as a 400 about `params._meta` envelope keys; it now gets a
  400 with the JSON-RPC error for an unsupported protocol version, naming the versions supported. Its
  `data.supported` lists the per-request (2026-07-28 and later) versions, exactly what `server/discover`
  advertises, as SEP-2575 and the conformance suite require; the message also names the older versions
  a client reaches through `initialize`.

Kept apart from `http.py` (the gate: Host/Origin and tokens) and placed behind it, so nothing here
is reachable before those checks.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SUPPORTED_VERSIONS: tuple[str, ...] = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)
DISCOVERABLE_VERSIONS: tuple[str, ...] = tuple(MODERN_PROTOCOL_VERSIONS)  # what server/discover lists
UNSUPPORTED_PROTOCOL_VERSION = -32022  # the JSON-RPC error code the MCP spec assigns
_ID_READ_LIMIT = 64 * 1024  # enough to find a request's id; a larger body is answered with id null


def _error(status: int, code: int, message: str, *, request_id: Any = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    if extra:
        body["error"]["data"] = extra
    headers = {"Allow": "POST"} if status == 405 else None
    return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def _request_id(receive: Receive) -> Any:
    """The JSON-RPC id of the request being refused, so the client can match the error to it."""
    chunks: list[bytes] = []
    size = 0
    while size <= _ID_READ_LIMIT:
        message: Message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False):
            break
    else:
        return None
    try:
        document = json.loads(b"".join(chunks))
    except ValueError:
        return None
    request_id = document.get("id") if isinstance(document, dict) else None
    return request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


class StatelessGuard:
    """ASGI middleware for the `/mcp` endpoint of a stateless server."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            refusal = _error(
                405, -32000, "Method Not Allowed: this server is stateless and offers no SSE stream; "
                "send each JSON-RPC request with POST",
            )  # fmt: skip
            await refusal(scope, receive, send)
            return
        version = _header(scope, b"mcp-protocol-version")
        if scope["method"] == "POST" and version is not None and version not in SUPPORTED_VERSIONS:
            refusal = _error(
                400, UNSUPPORTED_PROTOCOL_VERSION,
                f"Unsupported protocol version {version!r} in the MCP-Protocol-Version header; this server "
                f"supports {', '.join(DISCOVERABLE_VERSIONS)} per request, and "
                f"{', '.join(HANDSHAKE_PROTOCOL_VERSIONS)} through initialize",
                request_id=await _request_id(receive),
                supported=list(DISCOVERABLE_VERSIONS), requested=version,
            )  # fmt: skip
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
