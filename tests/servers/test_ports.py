"""polyroute.testing.ports: the spawned-server wait every HTTP test and benchmark uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from polyroute.testing.ports import free_port, wait_listening

LISTEN = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); "
    "s.listen(); time.sleep(30)"
)


def test_it_returns_once_the_process_listens() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LISTEN, str(port)])
    try:
        wait_listening(port, process, within_s=20)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_a_process_that_exits_first_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as out:
        code = "print('no config'); raise SystemExit(3)"
        process = subprocess.Popen([sys.executable, "-c", code], stdout=out)
        with pytest.raises(RuntimeError, match=r"exited with 3\n.*no config"):
            wait_listening(free_port(), process, within_s=20, log=log)


def test_a_process_that_never_listens_is_reported_after_the_deadline() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="not listening after 1 s"):
            wait_listening(free_port(), process, within_s=1)
    finally:
        process.kill()
        process.wait()
