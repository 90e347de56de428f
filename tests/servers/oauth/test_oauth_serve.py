"""`polyroute serve suite --http` configured with `[http.oauth]` only, as an operator runs it: it may bind
beyond loopback without static tokens, says whose tokens it takes, and never logs one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from authserver import AuthServer
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from oauth_serving import free_port

from polyroute.testing import FakeProviders

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_an_oauth_only_server_serves_tokens_from_its_issuer(
    authserver: AuthServer, fakes: FakeProviders, tmp_path: Path
) -> None:
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[http.oauth]\nissuer = "{authserver.issuer}"\nresource = "{resource}"\nteam_claim = "team"\n'
    )
    env = {**os.environ, **fakes.env(), "POLYROUTE_CONFIG": str(config)}
    argv = [str(Path(sys.executable).parent / "polyroute"), "serve", "suite", "--http", "--host", "0.0.0.0",
            "--port", str(port), "--allowed-host", "127.0.0.1"]  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
    token = authserver.token(resource, "route audit:read")
    try:
        wait_for(port, proc, log)
        async with (
            httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=20
            ) as http,
            Client(streamable_http_client(resource, http_client=http)) as client,
        ):
            offered = {tool.name for tool in (await client.list_tools()).tools}
            answer = await client.call_tool(
                "complete", {"prompt": "hi", "jurisdiction": "US", "data_class": "public"}
            )
            assert answer.structured_content, answer.content
            found = await client.call_tool("query_events", {"event_type": "completion"})
        with httpx2.Client(trust_env=False) as http:
            metadata = http.get(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp").json()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    said = log.read_text()
    assert f"OAuth tokens from {authserver.issuer}" in said.splitlines()[0]
    assert offered == {"list_models", "route_request", "complete", "query_events", "verify_log",
                       "summarize_usage", "get_receipt"}  # fmt: skip
    assert found.structured_content and found.structured_content["events"][0]["principal"] == "oauth:agent"
    assert metadata["resource"] == resource and metadata["authorization_servers"] == [authserver.issuer]
    assert token not in said and token.split(".")[2] not in said


def wait_for(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False)
            return
        except httpx2.HTTPError:
            time.sleep(0.1)
    pytest.fail(f"the server did not start: {log.read_text()[-500:]}")
