"""The servers as clients meet them: spawned console scripts over stdio, and `polyroute serve suite --http`
with bearer tokens, Host and Origin checks. Few processes: each costs about a second of imports."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from polyroute.testing import FakeProviders
from polyroute.testing.ports import free_port, wait_listening

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BIN = Path(sys.executable).parent
TOKENS = {
    "admin": secrets.token_urlsafe(16),
    "reader": secrets.token_urlsafe(16),
    "writer": secrets.token_urlsafe(16),
}
SCOPES = {"admin": "*", "reader": "governance:read", "writer": "audit:write,audit:read"}
DEPLOYMENT = "anthropic-claude-sonnet-4-6"


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a spawned server: its own HOME and data dir, no keys, no real keyring."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("POLYROUTE_") and not k.endswith("_API_KEY")
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    env.update(
        POLYROUTE_DATA_DIR=str(home / "polyroute"), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring"
    )
    env.update(extra)
    return env


async def test_stdio_console_script_speaks_only_json_rpc_on_stdout(tmp_path: Path) -> None:
    noise: list[object] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):  # a stdout line that was not JSON-RPC
            noise.append(message)

    params = StdioServerParameters(command=str(BIN / "polyroute-residency"), env=server_env(tmp_path))
    async with Client(stdio_client(params), message_handler=on_message) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        args = {"jurisdiction": "SA", "data_class": "government_secret", "deployment": DEPLOYMENT}
        verdict = await client.call_tool("check_residency", args)
        wrong = await client.call_tool("check_residency", {**args, "deployment": {"not": "a string"}})
        again = await client.call_tool("explain_policy", {"jurisdiction": "AE-DIFC"})
    assert names == {"check_residency", "list_allowed_deployments", "explain_policy"}
    assert verdict.structured_content and verdict.structured_content["allowed"] is False
    assert wrong.is_error and not again.is_error
    assert noise == []


async def test_stdio_stays_clean_while_a_routed_call_loads_a_vendor_sdk(
    tmp_path: Path, fakes: FakeProviders
) -> None:
    noise: list[object] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            noise.append(message)

    params = StdioServerParameters(
        command=str(BIN / "polyroute-router"), env=server_env(tmp_path, **fakes.env())
    )
    args = {"prompt": "hello", "model": "claude-sonnet-4-6", "jurisdiction": "US", "data_class": "public"}
    async with Client(stdio_client(params), message_handler=on_message) as client:
        answer = await client.call_tool("complete", args)
        listed = await client.list_tools()
    assert answer.structured_content and answer.structured_content["provider"] == "anthropic", answer.content
    assert len(listed.tools) == 3 and noise == []


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory, fakes: FakeProviders) -> Iterator[str]:
    home = tmp_path_factory.mktemp("http-home")
    port = free_port()
    tokens = ";".join(f"{name}={token}:{SCOPES[name]}" for name, token in TOKENS.items())
    env = server_env(home, POLYROUTE_HTTP_TOKENS=tokens, **fakes.env())
    argv = [str(BIN / "polyroute"), "serve", "suite", "--http", "--port", str(port)]
    log = (home / "server.log").open("w+")
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        wait_listening(port, proc, within_s=20, log=home / "server.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0  # SIGTERM: uvicorn drains, the App closes its stores, exit 0
        log.close()
        assert TOKENS["admin"] not in (home / "server.log").read_text()  # tokens never reach the log


@asynccontextmanager
async def mcp_as(base: str, who: str, **options: Any) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {TOKENS[who]}"}
    async with (
        httpx2.AsyncClient(headers=headers, trust_env=False, timeout=15) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http), **options) as client,
    ):
        yield client


def initialize(base: str, **headers: str) -> httpx2.Response:
    params = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    headers = {"Accept": "application/json, text/event-stream", **headers}
    with httpx2.Client(trust_env=False, timeout=5) as http:
        return http.post(f"{base}/mcp", json=body, headers=headers)


def test_http_refuses_missing_and_unknown_tokens_without_pointing_at_an_oauth_server(
    http_server: str,
) -> None:
    missing = initialize(http_server)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer") and "resource_metadata" not in str(
        missing.headers
    )
    wrong = initialize(http_server, Authorization="Bearer not-a-real-token")
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert initialize(http_server, Authorization=f"Bearer {TOKENS['admin']}").status_code == 200
    with httpx2.Client(trust_env=False) as http:
        assert http.get(f"{http_server}/.well-known/oauth-protected-resource").status_code in (401, 404)
        assert http.get(f"{http_server}/healthz").text == "ok"


def test_http_checks_host_and_origin_before_anything_else(http_server: str) -> None:
    token = f"Bearer {TOKENS['admin']}"
    assert initialize(http_server, Authorization=token, Host="evil.example").status_code == 421
    assert initialize(http_server, Host="evil.example:80").status_code == 421
    assert initialize(http_server, Authorization=token, Origin="http://evil.example").status_code == 403
    assert initialize(http_server, Authorization=token, Origin="http://localhost:3000").status_code == 200


async def test_http_scopes_limit_tools_and_the_principal_is_the_tokens(http_server: str) -> None:
    args = {"jurisdiction": "EU", "data_class": "personal", "deployment": DEPLOYMENT}
    async with mcp_as(http_server, "reader") as reader:
        offered = {tool.name for tool in (await reader.list_tools()).tools}
        assert offered == {"estimate_cost", "compare_costs", "budget_status", "check_residency",
                           "list_allowed_deployments", "explain_policy", "explain_route",
                           "simulate_change"}  # fmt: skip
        assert (await reader.call_tool("check_residency", args)).structured_content is not None
        denied = await reader.call_tool("complete", {"prompt": "hi"})
        assert denied.is_error and "needs the 'route' scope" in denied.content[0].text  # type: ignore[union-attr]
        assert (await reader.call_tool("record_event", {"action": "x"})).is_error
        budgets = await reader.call_tool("budget_status", {})
        assert budgets.structured_content and budgets.structured_content["principal"] == "http:reader"
        assert len((await reader.list_resources()).resources) == 2
        assert (await reader.read_resource("polyroute://policy")).contents
    async with mcp_as(http_server, "writer") as writer:
        written = await writer.call_tool("record_event", {"action": "shipped the report"})
        assert written.structured_content and written.structured_content["principal"] == "http:writer"
        assert (await writer.call_tool("check_residency", args)).is_error
        assert (await writer.list_resources()).resources == []  # audit-only tokens: no catalog, no policy
        with pytest.raises(MCPError, match="resources need the 'route' or 'governance:read' scope"):
            await writer.read_resource("polyroute://catalog")
    async with mcp_as(http_server, "admin") as admin:
        found = await admin.call_tool("query_events", {"event_type": "event"})
        assert (
            found.structured_content and found.structured_content["events"][0]["principal"] == "http:writer"
        )
        assert (await admin.call_tool("verify_log", {})).structured_content["ok"] is True  # type: ignore[index]


async def test_http_routed_call_streams_progress_and_audits_the_tokens_principal(http_server: str) -> None:
    seen: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    args = {"prompt": "hello", "model": "claude-sonnet-4-6", "jurisdiction": "US", "data_class": "public"}
    async with mcp_as(http_server, "admin") as admin:
        answer = await admin.call_tool("complete", args, progress_callback=on_progress)
        assert answer.structured_content, answer.content
        receipt = await admin.call_tool(
            "get_receipt", {"receipt_id": answer.structured_content["receipt_id"]}
        )
    assert seen[0] == "routing to a compliant deployment" and seen[-1] and seen[-1].startswith("answered by")
    assert receipt.structured_content and receipt.structured_content["principal"] == "http:admin"


async def test_over_stateless_http_the_question_rides_the_result_at_2026_07_28_only(http_server: str) -> None:
    from test_elicitation import PROMPT, Person

    modern, legacy = Person(content={"jurisdiction": "US", "data_class": "personal"}), Person()
    async with mcp_as(http_server, "admin", elicitation_callback=modern) as client:
        asked = (await client.call_tool("complete", PROMPT)).structured_content
    async with mcp_as(http_server, "admin", elicitation_callback=legacy, mode="legacy") as client:
        defaulted = (await client.call_tool("complete", PROMPT)).structured_content
    assert asked and asked["jurisdiction"] == "US" and asked["classification_defaulted"] is False
    assert len(modern.asked) == 1
    assert legacy.asked == []  # 2025-11-25 over stateless HTTP has no back channel: defaults, as before
    assert defaulted and defaulted["classification_defaulted"] is True


async def test_over_http_a_task_belongs_to_the_principal_that_started_it(
    http_server: str, fakes: FakeProviders
) -> None:
    from mcp_types import CallToolResult
    from test_tasks import ARGS, Tasks, get

    from polyroute.testing import Fault
    from polyroute_servers.tasks import CreateTaskResult

    fakes.anthropic.inject("claude-sonnet-4-6", Fault(delay=0.5))
    tasks = Tasks()
    async with mcp_as(http_server, "admin", extensions=[tasks]) as client:
        created = await client.session.call_tool("complete", ARGS, allow_claimed=True)
        assert isinstance(created, CreateTaskResult)
        async with mcp_as(http_server, "writer", extensions=[Tasks()]) as other:
            with pytest.raises(MCPError, match="unknown task"):
                await get(other.session, created.task_id)
        answer = await tasks.claims()[0].resolve(created, _claim(client))
    assert isinstance(answer, CallToolResult) and answer.structured_content
    assert answer.structured_content["provider"] == "anthropic" and tasks.seen[-1].status == "completed"


def _claim(client: Client) -> Any:
    from mcp.client.extension import ClaimContext

    return ClaimContext(session=client.session, tool_name="complete", read_timeout_seconds=None)


async def test_over_stateless_http_complete_reports_progress_at_2026_07_28(
    http_server: str, fakes: FakeProviders
) -> None:
    from polyroute.testing import Fault

    fakes.anthropic.inject("claude-sonnet-4-6", Fault(delay=2.5))  # the server's heartbeat is every 2 s
    seen: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    args = {"prompt": "slow", "model": DEPLOYMENT, "jurisdiction": "US", "data_class": "public"}
    async with mcp_as(http_server, "admin") as client:
        assert client.protocol_version == "2026-07-28"
        answer = await client.call_tool("complete", args, progress_callback=on_progress)
    assert answer.structured_content, answer.content
    assert seen[0] == "routing to a compliant deployment" and seen[-1] == f"answered by {DEPLOYMENT}"
    assert any(message and message.startswith("waiting for the provider") for message in seen), seen
