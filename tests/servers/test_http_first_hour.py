"""What a user trying `polyroute serve … --http` with curl meets: a GET on /mcp and an unknown protocol
version get answers that say what to do, over real HTTP against a spawned server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from polyroute.testing.ports import free_port, wait_listening

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("http-first-hour")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYROUTE_")}
    env.update(HOME=str(home), POLYROUTE_DATA_DIR=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    argv = [str(BIN / "polyroute"), "serve", "residency", "--http", "--port", str(port)]
    with (home / "server.log").open("w+") as log:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            wait_listening(port, proc, log=home / "server.log")
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            proc.terminate()
            proc.wait(10)


def post(url: str, body: dict[str, Any], **headers: str) -> httpx2.Response:
    with httpx2.Client(trust_env=False, timeout=5) as http:
        return http.post(url, json=body, headers={**ACCEPT, **headers})


def test_get_on_the_stateless_endpoint_is_405_not_an_empty_stream(server: str) -> None:
    with httpx2.Client(trust_env=False, timeout=5) as http:
        answer = http.get(server, headers={"Accept": "text/event-stream"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.headers["content-type"].startswith("application/json")
    assert "no SSE stream" in answer.json()["error"]["message"]


def test_an_unsupported_protocol_version_says_which_are_supported(server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}
    answer = post(server, body, **{"MCP-Protocol-Version": "1999-01-01"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert answer.json()["id"] == 7
    assert error["code"] == -32022
    assert "'1999-01-01'" in error["message"] and "_meta" not in error["message"]
    supported = [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS]
    assert error["data"] == {"supported": list(MODERN_PROTOCOL_VERSIONS), "requested": "1999-01-01"}
    assert all(version in error["message"] for version in supported)


def test_supported_versions_still_work(server: str) -> None:
    client = {"name": "t", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    assert post(server, body).status_code == 200
    assert post(server, body, **{"MCP-Protocol-Version": "2025-11-25"}).status_code == 200


@pytest.mark.anyio
async def test_the_sdk_client_still_works_over_http(server: str) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(trust_env=False, timeout=15) as http,
        Client(streamable_http_client(server, http_client=http)) as client,
    ):
        verdict = await client.call_tool(
            "check_residency",
            {"jurisdiction": "EU", "data_class": "personal", "deployment": "anthropic-claude-sonnet-4-6"},
        )
    assert verdict.structured_content is not None and verdict.structured_content["allowed"] is False
