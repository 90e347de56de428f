"""Connections an attacker opens and never finishes, and Host/Origin values built to slip past a prefix
check: raw sockets against the real gate and uvicorn protocol, served in-process on loopback with short
deadlines (the production values are checked to be the documented ones)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from polyroute.app import App
from polyroute_servers import connection, suite
from polyroute_servers.http import build_http_app, uvicorn_config

HEAD_S, BODY_S, IDLE_S = 0.6, 0.6, 1


class QuickProtocol(connection.TimedH11Protocol):
    head_timeout = HEAD_S


@contextmanager
def serving() -> Iterator[int]:
    """The suite's HTTP app under uvicorn in a thread, with short deadlines; yields its port."""
    app = App(principal="local:tester")
    asgi = build_http_app(suite.build(app), host="127.0.0.1", grants=[], body_timeout=BODY_S)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn_config(asgi, host="127.0.0.1", port=0, protocol=QuickProtocol, keep_alive=IDLE_S)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving() as running:
        yield running


def closed_after(sock: socket.socket, *, drip: bytes = b"", every: float = 0.1, limit: float = 10) -> float:
    """Seconds until the server closes `sock` (reading what it sends), dripping `drip` meanwhile."""
    start = time.monotonic()
    sock.settimeout(every)
    while time.monotonic() - start < limit:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except TimeoutError:
            if drip:
                try:
                    sock.sendall(drip)
                except OSError:
                    return time.monotonic() - start
        except OSError:
            return time.monotonic() - start
    raise AssertionError(f"the server kept the connection open for {limit} s")


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def healthz_ms(port: int) -> float:
    start = time.monotonic()
    answer = raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert answer.endswith(b"ok"), answer
    return (time.monotonic() - start) * 1000


def test_the_production_deadlines_are_the_documented_ones() -> None:
    assert (connection.HEAD_TIMEOUT_S, connection.BODY_TIMEOUT_S, connection.KEEP_ALIVE_S) == (10.0, 30.0, 5)
    assert connection.MAX_BODY_BYTES == 16 * 1024 * 1024


@pytest.mark.attack("slowloris: 20 connections that never finish their headers", area="http")
def test_half_sent_heads_are_closed_at_the_deadline_even_when_dripping(port: int) -> None:
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
    dripping = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
    for sock in dripping:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert healthz_ms(port) < 1000  # the server answers others meanwhile
    waits = [closed_after(s) for s in silent] + [closed_after(s, drip=b"X-A: b\r\n") for s in dripping]
    for sock in silent + dripping:
        sock.close()
    assert max(waits) < HEAD_S + 1.5, waits


@pytest.mark.attack("half a request body, then silence", area="http")
def test_a_body_that_stops_arriving_gets_408_and_the_connection_closes(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"js")  # fmt: skip
        start = time.monotonic()
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        waited = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive within 0.6 s" in answer
    assert waited < BODY_S + 1.5


@pytest.mark.attack("idle keep-alive connections", area="http")
def test_idle_keep_alive_connections_are_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        waited = closed_after(sock)
    assert waited < IDLE_S + HEAD_S + 1.5


@pytest.mark.attack("a 20 MB request body", area="http")
def test_an_oversized_body_is_refused_by_its_declared_length_with_the_limit_named(port: int) -> None:
    answer = raw(port, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 20000000\r\n\r\n")  # fmt: skip
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert "limit of 16,777,216 bytes" in json.loads(body)["error"]["message"]


HOSTS = {
    "127.0.0.1:80@evil.example": 421, "localhost:1@evil.example": 421, "127.0.0.1.evil.example": 421,
    "evil.example": 421, "127.0.0.1:": 421, "127.0.0.1:99999": 421, "127.0.0.1:80/x": 421,
    "user@127.0.0.1": 421, "::1": 421, "[::1]:8080": 200, "localhost:8080": 200, "127.0.0.1": 200,
}  # fmt: skip
ORIGINS = {
    "http://127.0.0.1:80@evil.example": 403, "http://localhost:3000@evil.example": 403,
    "http://localhost:3000.evil.example": 403, "null": 403, "file://": 403, "http://localhost/": 403,
    "http://evil.example": 403, "http://localhost:3000": 200, "https://127.0.0.1": 200,
}  # fmt: skip


def initialize(port: int, **headers: str) -> int:
    client = {"name": "t", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    lines = {
        "Host": "127.0.0.1", "Content-Type": "application/json", "Connection": "close",
        "Accept": "application/json, text/event-stream", "Content-Length": str(len(body)), **headers,
    }  # fmt: skip
    head = "".join(f"{name}: {value}\r\n" for name, value in lines.items())
    answer = raw(port, f"POST /mcp HTTP/1.1\r\n{head}\r\n{body}".encode())
    return int(answer.split(b" ", 2)[1])


@pytest.mark.attack("Host values built to pass a prefix check (DNS rebinding)", area="http")
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_host_headers_are_parsed_exactly(port: int, host: str) -> None:
    assert initialize(port, Host=host) == HOSTS[host]


@pytest.mark.attack("Origin values built to pass a prefix check (DNS rebinding)", area="http")
@pytest.mark.parametrize("origin", sorted(ORIGINS))
def test_origin_headers_are_parsed_exactly(port: int, origin: str) -> None:
    assert initialize(port, Origin=origin) == ORIGINS[origin]


def test_allowed_names_match_whole_names_in_any_case_and_with_any_port() -> None:
    from polyroute_servers.hostcheck import HostCheck

    check = HostCheck(["polyroute_suite", "API.example.com", "::1"])
    assert check.host_ok("polyroute_suite:8080") and check.host_ok("api.example.com")
    assert check.host_ok("[::1]") and not check.host_ok("[::1]x")
    assert not check.host_ok("api.example.com.evil") and not check.host_ok("xapi.example.com")
    assert not check.host_ok(None) and not check.host_ok("")
    assert check.origin_ok(None) and check.origin_ok("https://api.example.com:8443")
    assert not check.origin_ok("https://api.example.com:8443/path")
