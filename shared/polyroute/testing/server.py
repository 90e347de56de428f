"""The loopback HTTP machinery under the fake providers: a thread, request recording, fault injection.

The vendor SDKs build on `httpx2` (and boto3 on urllib3), which HTTP-mocking libraries do not see, so
the fakes are real servers on 127.0.0.1: the SDKs go through their whole stack, headers and all.
HTTP/1.1 keep-alive and one write per response keep a call well under a millisecond, so benchmarks
measure the adapters rather than the fake.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering normally, for `times` requests to one model (None = forever)."""

    status: int | None = None  # answer with this status and the provider's real error body
    code: str | None = None  # provider error code (e.g. enforced_spend_limit_reached, ThrottlingException)
    message: str | None = None
    retry_after: float | None = None  # `retry-after` header, seconds
    retry_after_ms: int | None = None  # `retry-after-ms` header
    delay: float = 0.0  # seconds to wait before answering (or before failing)
    reset: bool = False  # drop the connection with a TCP reset instead of answering
    malformed: bool = False  # 200 with a body that is not JSON
    inference_geo: str | None = None  # answer normally but report this `usage.inference_geo` (Anthropic)
    input_tokens: int | None = None  # answer normally but report this many input tokens in the usage
    times: int | None = 1


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    model: str | None
    received: float = field(default_factory=time.monotonic)  # when it arrived (`time.monotonic`)


@dataclass
class Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict[str, str])


class _LoopbackHTTPServer(ThreadingHTTPServer):
    request_queue_size = 256  # socketserver's 5 drops connects when 64 clients (a load test) open at once


class FakeServer:
    """One fake provider API on an ephemeral loopback port, served from a background thread.

    Subclasses say which model a path addresses (`model_of`), how to answer (`answer`) and what the
    provider's error body looks like (`error_reply`).
    """

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._httpd = _LoopbackHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name=f"fake-{self.name}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, model: str, fault: Fault) -> None:
        """Queue a fault for `model`; faults are used in the order they were queued."""
        with self._lock:
            self._faults.setdefault(model, deque()).append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    def seen(self, model: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if model is None or r.model == model]

    def _take_fault(self, model: str | None) -> Fault | None:
        with self._lock:
            queue = self._faults.get(model or "")
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                if fault.times <= 1:
                    queue.popleft()
                else:
                    queue[0] = dataclasses.replace(fault, times=fault.times - 1)
            return fault

    def _record(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)

    # Dialect hooks -------------------------------------------------------------------------------

    def model_of(self, method: str, path: str, body: Any) -> str | None:
        """The model a request addresses, or None when no such route exists (answered with 404)."""
        raise NotImplementedError

    def answer(self, model: str, path: str, body: Any) -> Reply:
        raise NotImplementedError

    def error_reply(self, status: int, code: str | None, message: str) -> Reply:
        raise NotImplementedError

    def respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply | None:
        """The reply for one request, or None to reset the connection."""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        model = self.model_of(method, path, body)
        self._record(Recorded(method, path, headers, body, model))
        if model is None:
            return self.error_reply(404, None, f"no route for {method} {path}")
        fault = self._take_fault(model)
        if fault is None:
            return self.answer(model, path, body)
        return self._faulty(fault, model, path, body)

    def _faulty(self, fault: Fault, model: str, path: str, body: Any) -> Reply | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.reset:
            return None
        if fault.malformed:
            return Reply(200, b'{"id": "broken", "content": [tru')
        if fault.status is None:
            return _with_usage(self.answer(model, path, body), fault.inference_geo, fault.input_tokens)
        reply = self.error_reply(fault.status, fault.code, fault.message or f"injected {fault.status}")
        if fault.retry_after is not None:
            reply.headers["retry-after"] = f"{fault.retry_after:g}"
        if fault.retry_after_ms is not None:
            reply.headers["retry-after-ms"] = str(fault.retry_after_ms)
        return reply


def _with_usage(reply: Reply, geo: str | None, input_tokens: int | None) -> Reply:
    """A normal answer with its usage changed: where inference ran (Anthropic's carries the geo), or the
    input tokens counted (a provider counting far more than a quote assumed), in each dialect's names."""
    raw: Any = reply.payload
    payload = cast(dict[str, Any], raw) if isinstance(raw, dict) else {}
    if not isinstance(payload.get("usage"), dict):
        return reply
    usage = cast(dict[str, Any], payload["usage"])
    if geo is not None:
        usage["inference_geo"] = geo
    if input_tokens is not None:
        for name, total in (("input_tokens", None), ("prompt_tokens", "total_tokens"),
                            ("inputTokens", "totalTokens")):  # fmt: skip
            if name in usage:
                if total:
                    usage[total] += input_tokens - usage[name]
                usage[name] = input_tokens
    return reply


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            """Silence: tests and benchmarks read the recorded requests instead."""

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            reply = fake.respond(self.command, self.path, headers, raw)
            if reply is None:
                self._reset()
                return
            payload = reply.payload
            if not isinstance(payload, bytes):
                payload = json.dumps(payload).encode()
            head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('Error',))[0]}",
                    "content-type: application/json", f"content-length: {len(payload)}",
                    *(f"{key}: {value}" for key, value in reply.headers.items())]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return Handler
