"""`polyroute serve` refusals, in process: they happen before anything listens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from polyroute_servers.cli import main
from polyroute_servers.http import _listen  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--host", "0.0.0.0"], "", "refusing to serve on 0.0.0.0 without bearer tokens"),
        (["--host", "10.1.2.3"], "", "refusing to serve on 10.1.2.3 without bearer tokens"),
        ([], "ops=s3cret-value:root", "unknown scope(s) root"),
        ([], "s3cret-value", "POLYROUTE_HTTP_TOKENS entry 1: want principal=token"),
    ],
)
def test_unsafe_or_malformed_http_setups_exit_2_with_one_line(
    argv: list[str], env: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLYROUTE_HTTP_TOKENS", env)
    assert main(["serve", "cost", "--http", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "s3cret" not in err


@pytest.mark.parametrize("argv", [["serve", "everything"], ["serve", "suite", "--port", "70000"], ["serve"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_taken_port_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "residency", "--http", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"polyroute: cannot listen on 127.0.0.1 port {port}: Address already in use\n"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_listening_socket_is_tcp_so_asyncio_turns_nagle_off(host: str) -> None:
    # A proto-0 socket gets no TCP_NODELAY on accept: every HTTP answer then waits ~40 ms for an ACK.
    with _listen(host, 0) as listener:
        assert listener.proto == socket.IPPROTO_TCP


def test_a_wildcard_bind_says_which_host_names_it_accepts() -> None:
    polyroute = Path(sys.executable).parent / "polyroute"
    argv = [str(polyroute), "serve", "residency", "--http", "--host", "0.0.0.0", "--port", "0"]
    env = {**os.environ, "POLYROUTE_HTTP_TOKENS": "ops=s3cret-value"}
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline(), proc.stderr.readline()]
    finally:
        proc.terminate()
        proc.wait(10)
    assert "on http://0.0.0.0:" in lines[0] and ":0/mcp" not in lines[0]
    assert "add --allowed-host NAME" in lines[1] and "s3cret" not in "".join(lines)
