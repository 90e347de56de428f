"""Fixtures for the third-party client tests: the Streamable HTTP suite on a free loopback port."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from npm_tools import polyroute_command

from polyroute.testing.ports import free_port, wait_listening


@pytest.fixture(scope="module")
def http_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`polyroute serve suite --http` on a free loopback port; yields the /mcp URL."""
    port = free_port()
    data = tmp_path_factory.mktemp("http-suite")
    env = {
        **os.environ,
        "POLYROUTE_DATA_DIR": str(data),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    env.pop("POLYROUTE_HTTP_TOKENS", None)
    log = (data / "server.log").open("w")
    process = subprocess.Popen([*polyroute_command(), "serve", "suite", "--http", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    try:
        wait_listening(port, process, log=data / "server.log")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
