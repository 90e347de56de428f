"""One client sends hostile input to a running `polyroute serve suite --http` while another client and
`/healthz` are timed: the attacks of the outside review (1 MB of "a" to estimate_cost, compare_costs,
route_request and complete; a 10 MB complete), each through a real MCP client over Streamable HTTP.
Before the fix, 100,000 × "a" took 143 s and stalled every other client; the bound asserted here is
generous for a loaded 2-core machine, and the worst stall measured goes to the reliability table."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from tests.reliability import HEALTHZ_STALL_S, Attack

from polyroute.testing import FakeProviders
from polyroute.testing.ports import free_port, wait_listening

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BIN = Path(sys.executable).parent
STALL_BOUND_S = 2.0
"""Generous: the machine is shared. Measured stalls are reported, and far below this (see README)."""
HOSTILE = "a" * 1_000_000
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("estimate_cost", {"deployment": "azure-global-gpt-5-1", "prompt": HOSTILE}),  # exact o200k count
    ("estimate_cost", {"deployment": "anthropic-claude-sonnet-4-6", "prompt": HOSTILE}),  # heuristic
    ("compare_costs", {"prompt": HOSTILE}),
    ("route_request", {"prompt": HOSTILE}),
    ("complete", {"prompt": HOSTILE, "model": "claude-sonnet-4-6", "data_class": "public"}),
    ("route_request", {"messages": [{"role": "user", "content": "a b"}] * 2_000}),  # at the cap
    ("complete", {"prompt": "a" * 10_000_000, "model": "claude-sonnet-4-6"}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fakes: FakeProviders) -> Iterator[str]:
    from test_transport import server_env  # pyright: ignore[reportMissingImports]

    home = tmp_path_factory.mktemp("hostile-home")
    port = free_port()
    log = (home / "server.log").open("w+")
    argv = [str(BIN / "polyroute"), "serve", "suite", "--http", "--port", str(port)]
    env = server_env(home, **fakes.env())
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        wait_listening(port, proc, log=home / "server.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


@asynccontextmanager
async def connected(base: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(trust_env=False, timeout=120) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


class Probe:
    """Times `/healthz` and a small tool call of another client, over and over, until stopped."""

    def __init__(self) -> None:
        self.healthz: list[float] = []
        self.tool: list[float] = []
        self.running = True

    async def healthz_loop(self, base: str) -> None:
        async with httpx2.AsyncClient(trust_env=False, timeout=60) as http:
            while self.running:
                start = time.perf_counter()
                assert (await http.get(f"{base}/healthz")).text == "ok"
                self.healthz.append(time.perf_counter() - start)
                await anyio.sleep(0.02)

    async def tool_loop(self, base: str) -> None:
        args = {"jurisdiction": "SA", "data_class": "personal", "deployment": "anthropic-claude-sonnet-4-6"}
        async with connected(base) as other:
            while self.running:
                start = time.perf_counter()
                assert not (await other.call_tool("check_residency", args)).is_error
                self.tool.append(time.perf_counter() - start)
                await anyio.sleep(0.05)


@pytest.mark.attack("1 MB of 'a' to estimate_cost, compare_costs, route_request, complete; 2,000 "
                    "messages; a 10 MB complete", area="servers")  # fmt: skip
async def test_other_clients_and_healthz_stay_responsive_under_hostile_prompts(
    server: str, attack: Attack
) -> None:
    probe = Probe()
    answers: list[tuple[str, Any, float]] = []
    async with anyio.create_task_group() as group:
        group.start_soon(probe.healthz_loop, server)
        group.start_soon(probe.tool_loop, server)
        async with connected(server) as hostile:
            for tool, args in CALLS[:2]:  # first use loads a vocabulary (~0.5 s, once): not an attack
                assert not (await hostile.call_tool(tool, {**args, "prompt": "warm"})).is_error
            probe.healthz.clear()
            probe.tool.clear()
            for tool, args in CALLS:
                start, mark = time.perf_counter(), len(probe.healthz)
                answers.append((tool, await hostile.call_tool(tool, args), time.perf_counter() - start))
                during = max(probe.healthz[mark:], default=0.0)
                print(f"{tool}: {answers[-1][2]:.2f} s; worst /healthz meanwhile {during * 1000:.0f} ms")
        await anyio.sleep(0.3)
        probe.running = False
    worst_healthz, worst_tool = max(probe.healthz), max(probe.tool)
    attack.figure(HEALTHZ_STALL_S, worst_healthz)
    attack.figure("other_client_worst_call_s", worst_tool)
    attack.figure("slowest_hostile_call_s", max(seconds for *_, seconds in answers))
    print(f"/healthz worst {worst_healthz * 1000:.0f} ms over {len(probe.healthz)} probes; "
          f"other client's check_residency worst {worst_tool * 1000:.0f} ms")  # fmt: skip
    *served, too_big = answers
    for tool, result, _ in served:
        assert not result.is_error, (tool, result.content)
    assert too_big[1].is_error and "at most 4,194,304 bytes" in too_big[1].content[0].text
    assert worst_healthz < STALL_BOUND_S and worst_tool < STALL_BOUND_S
