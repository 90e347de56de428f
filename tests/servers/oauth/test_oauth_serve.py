"""`polyroute serve suite --http` configured with `[http.oauth]` only, as an operator runs it behind a
TLS proxy: it may bind beyond loopback without static tokens, accepts its public name as Host, says
whose tokens it takes, and never logs one."""

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
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


async def test_an_oauth_only_server_serves_tokens_from_its_issuer(
    authserver: AuthServer, fakes: FakeProviders, tmp_path: Path
) -> None:
    port = free_port()
    resource = "https://polyroute.example.com/mcp"  # the public URL; TLS ends at the proxy in front
    local = f"http://127.0.0.1:{port}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[http.oauth]\nissuer = "{authserver.issuer}"\nresource = "{resource}"\nteam_claim = "team"\n'
    )
    env = {**os.environ, **fakes.env(), "POLYROUTE_CONFIG": str(config)}
    polyroute = str(Path(sys.executable).parent / "polyroute")
    argv = [polyroute, "serve", "suite", "--http", "--host", "0.0.0.0", "--port", str(port)]
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
            Client(streamable_http_client(f"{local}/mcp", http_client=http)) as client,
        ):
            offered = {tool.name for tool in (await client.list_tools()).tools}
            answer = await client.call_tool(
                "complete", {"prompt": "hi", "jurisdiction": "US", "data_class": "public"}
            )
            assert answer.structured_content, answer.content
            found = await client.call_tool("query_events", {"event_type": "completion"})
        with httpx2.Client(trust_env=False, timeout=10) as http:
            metadata = http.get(f"{local}/.well-known/oauth-protected-resource/mcp").json()
            public = http.post(f"{local}/mcp", headers={"Host": "polyroute.example.com"}, json=LIST)
            stranger = http.post(f"{local}/mcp", headers={"Host": "evil.example"}, json=LIST)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    said = log.read_text()
    assert f"OAuth tokens from {authserver.issuer}" in said.splitlines()[0]
    assert offered == {"list_models", "route_request", "complete", "query_events", "verify_log",
                       "summarize_usage", "get_receipt"}  # fmt: skip
    assert found.structured_content and found.structured_content["events"][0]["principal"] == "oauth:agent"
    assert metadata["resource"] == resource and metadata["authorization_servers"] == [authserver.issuer]
    pointer = 'resource_metadata="https://polyroute.example.com/.well-known/oauth-protected-resource/mcp"'
    assert public.status_code == 401 and pointer in public.headers["www-authenticate"]  # Host accepted
    assert stranger.status_code == 421
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
