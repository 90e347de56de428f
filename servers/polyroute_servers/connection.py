"""Connections that cannot be held open for free: deadlines for a request's head and body, a body cap.

uvicorn (0.55, h11) starts no timer on a new connection and restarts its keep-alive timer on every
byte, so a client sending one header byte a minute (slowloris) or half a body held a connection and
its task forever. `TimedH11Protocol` closes a connection whose request head is not complete
`HEAD_TIMEOUT_S` after it opened (or after its previous response); `read_body` gives the body
`BODY_TIMEOUT_S` and a size cap, answering 408 or 413 (with a JSON-RPC error naming the limit) and
closing the connection. Idle keep-alive connections close after uvicorn's `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import anyio
import h11
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
KEEP_ALIVE_S = 5
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Above `Limits.max_prompt_bytes` (4 MiB) with room for JSON escaping, so the tool's own clearer
refusal is what a client meets first."""


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request's head (see module docstring)."""

    head_timeout = HEAD_TIMEOUT_S
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a whole request head has arrived
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()


def _refusal(status: int, message: str) -> Response:
    """A JSON-RPC error (the MCP client shows its message) and the connection closed after it."""
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    return Response(json.dumps(body), status_code=status, media_type="application/json",
                    headers={"Connection": "close"})  # fmt: skip


async def read_body(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    limit: int = MAX_BODY_BYTES,
    timeout: float = BODY_TIMEOUT_S,
) -> Callable[[], Awaitable[Message]] | None:
    """Read the whole request body within `timeout` and `limit`; a replaying `receive`, or None after
    answering 408 / 413 itself."""
    declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
    too_big = f"the request body is over this server's limit of {limit:,} bytes"
    if declared.isdigit() and int(declared) > limit:
        await _refusal(413, too_big)(scope, receive, send)
        return None
    chunks: list[bytes] = []
    size, last = 0, None
    with anyio.move_on_after(timeout) as deadline:
        while True:
            last = await receive()
            if last["type"] != "http.request":
                break
            size += len(last.get("body", b""))
            if size > limit:
                await _refusal(413, too_big)(scope, receive, send)
                return None
            chunks.append(last.get("body", b""))
            if not last.get("more_body", False):
                break
    if deadline.cancelled_caught:
        await _refusal(408, f"the request body did not arrive within {timeout:g} s")(scope, receive, send)
        return None
    replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
    if last is not None and last["type"] != "http.request":
        replay = [last]

    async def replaying() -> Message:
        return replay.pop(0) if replay else await receive()

    return replaying


__all__ = [
    "BODY_TIMEOUT_S", "HEAD_TIMEOUT_S", "KEEP_ALIVE_S", "MAX_BODY_BYTES", "TimedH11Protocol", "read_body",
]  # fmt: skip
