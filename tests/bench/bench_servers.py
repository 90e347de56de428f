"""Benchmark the MCP servers against an empty MCPServer measured in the same run.

1. cold start: spawn → tools/list answered over stdio, each server vs the empty server
   (targets: governance servers ≤ 1.3×, router ≤ 1.5×; i.e. no vendor SDK, price data, tokenizer or
   keyring loads at start);
2. tool round trip over stdio: `check_residency` vs the empty server's no-op tool with the same
   arguments (target ≤ 1.25×), raw JSON-RPC and through the SDK client, calls to the servers taking
   turns; beside it, for the record, an empty server whose tool returns the same verdict: the gap to it is
   our layer's own cost, the rest is what a larger answer costs the transport and the SDK client (which
   validates every result against the output schema);
3. HTTP throughput with 8 concurrent clients: `check_residency` (behind a bearer token) vs the no-op
   tool (target ≥ 0.8×).

Runs (cold starts, HTTP) and single calls (stdio) are interleaved so machine load hits both sides
alike. Prints medians and ratios; ~60 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
from benchkit import figure
from mcp import Client, StdioServerParameters, stdio_client
from stdio_pairs import paired_round_trips, raw_session, sdk_session

from polyroute.testing.ports import free_port, wait_listening

BIN = Path(sys.executable).parent
ARGS = {"jurisdiction": "SA", "data_class": "personal", "deployment": "bedrock-eu-claude-sonnet-4-6"}
EMPTY = '''
import sys
from pydantic import BaseModel
from mcp.server.mcpserver import MCPServer

class Out(BaseModel):
    ok: bool

server = MCPServer("empty")

@server.tool()
async def noop(jurisdiction: str, data_class: str, deployment: str) -> Out:
    """Does nothing."""
    return Out(ok=True)

if len(sys.argv) > 1:
    import uvicorn
    app = server.streamable_http_app(stateless_http=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
else:
    server.run("stdio")
'''
SAME_ANSWER = '''
import sys
from mcp.server.mcpserver import MCPServer
from polyroute.residency import Verdict

ANSWER = Verdict.model_validate_json(open(sys.argv[1]).read())
server = MCPServer("same-answer")

@server.tool()
async def noop(jurisdiction: str, data_class: str, deployment: str) -> Verdict:
    """Returns check_residency's answer, computed once before."""
    return ANSWER

server.run("stdio")
'''
COLD_ROUNDS, WARM_UP, CALLS, HTTP_SECONDS, HTTP_CLIENTS = 7, 30, 400, 3.0, 8


def environment(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("POLYROUTE_") and not k.endswith("_API_KEY")
    }
    env.update(HOME=str(home), POLYROUTE_DATA_DIR=str(home / "data"))
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    return env


def commands(home: Path) -> dict[str, list[str]]:
    empty = home / "empty_server.py"
    empty.write_text(EMPTY)
    servers = {name: [str(BIN / f"polyroute-{name}")] for name in ("residency", "cost", "audit", "router")}
    return {"empty": [sys.executable, str(empty)], **servers}


async def cold_start(argv: list[str], env: dict[str, str]) -> float:
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    started = time.perf_counter()
    async with Client(stdio_client(params, errlog=subprocess.DEVNULL)) as client:  # type: ignore[arg-type]
        await client.list_tools()
        return time.perf_counter() - started


def spawn_http(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    full = [*argv, str(port)] if argv[0] == sys.executable else [*argv, "--http", "--port", str(port)]
    proc = subprocess.Popen(
        full, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_listening(port, proc)
    except RuntimeError:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port}/mcp"


async def throughput(url: str, tool: str, token: str | None) -> float:
    """Calls per second that HTTP_CLIENTS concurrent clients complete in HTTP_SECONDS: each posts a
    `tools/call` to the stateless server (no session needed) and reads the SSE answer."""
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    headers |= {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": ARGS}}
    done = 0

    async def worker(http: httpx2.AsyncClient, stop: float) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            response = await http.post(url, json=body, headers=headers)
            assert response.status_code == 200 and '"isError":false' in response.text.replace(" ", ""), (
                response.text
            )
            done += 1

    async with httpx2.AsyncClient(
        trust_env=False, timeout=30, limits=httpx2.Limits(max_connections=16)
    ) as http:
        await worker(http, time.perf_counter() + 0.5)  # warm up
        done = 0
        await asyncio.gather(*(worker(http, time.perf_counter() + HTTP_SECONDS) for _ in range(HTTP_CLIENTS)))
    return done / HTTP_SECONDS


def ratio_line(label: str, ours: float, base: float, target: str, ok: bool, unit: str) -> None:
    better = "higher" if unit == "calls/s" else "lower"
    figure(label.strip(), ours, unit, baseline=base, baseline_name="empty MCPServer", target=target, met=ok,
           better=better)  # fmt: skip
    print(f"{label:<34} {ours:9.2f} {unit} vs empty {base:9.2f} {unit}  ratio {ours / base:5.2f}  "
          f"target {target}  {'ok' if ok else 'MISS'}")  # fmt: skip


async def bench_cold(cmds: dict[str, list[str]], env: dict[str, str]) -> None:
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(COLD_ROUNDS):
        for name, argv in cmds.items():
            times[name].append(await cold_start(argv, env))
    base = statistics.median(times["empty"]) * 1000
    for name in ("residency", "cost", "audit", "router"):
        ours = statistics.median(times[name]) * 1000
        limit = 1.5 if name == "router" else 1.3
        ratio_line(f"cold start {name}", ours, base, f"<= {limit}x", ours / base <= limit, "ms")


async def same_answer(cmds: dict[str, list[str]], env: dict[str, str]) -> list[str]:
    """An empty MCPServer whose tool returns the verdict `check_residency` gives (asked once here): what
    the answer's size costs the transport and the SDK client, apart from anything our layer does."""
    home = Path(env["HOME"])
    params = StdioServerParameters(command=cmds["residency"][0], args=cmds["residency"][1:], env=env)
    async with Client(stdio_client(params, errlog=subprocess.DEVNULL)) as client:  # type: ignore[arg-type]
        answer = (await client.call_tool("check_residency", ARGS)).structured_content
    (home / "answer.json").write_text(json.dumps(answer))
    (home / "same_answer_server.py").write_text(SAME_ANSWER)
    return [sys.executable, str(home / "same_answer_server.py"), str(home / "answer.json")]


async def bench_stdio(cmds: dict[str, list[str]], env: dict[str, str]) -> None:
    servers = {"empty": (cmds["empty"], "noop"), "ours": (cmds["residency"], "check_residency"),
               "same": (await same_answer(cmds, env), "noop")}  # fmt: skip
    kinds = (("stdio round trip (raw JSON-RPC)", raw_session), ("  same, SDK client", sdk_session))
    for label, session in kinds:
        sides = await paired_round_trips(session, servers, env, ARGS, warm_up=WARM_UP, calls=CALLS)
        base, mine, same = (statistics.median(sides[name].times) * 1000 for name in ("empty", "ours", "same"))
        ratio_line(label, mine, base, "<= 1.25x", mine / base <= 1.25, "ms")
        figure(f"{label.strip()}, vs an empty server with the same answer", mine, "ms", baseline=same,
               baseline_name="empty MCPServer returning the same verdict")  # fmt: skip
        cpu = {name: side.cpu_ms() for name, side in sides.items()}
        figure(f"{label.strip()}, CPU (client + server)", cpu["ours"], "ms", baseline=cpu["empty"],
               baseline_name="empty MCPServer")  # fmt: skip
        print(f"{'':<4}empty server with the same answer {same:6.2f} ms (ours / it {mine / same:4.2f}); "
              f"CPU per call, client + server: ours {cpu['ours']:.2f} ms, empty {cpu['empty']:.2f} ms "
              f"({cpu['ours'] / cpu['empty']:.2f}x), same answer {cpu['same']:.2f} ms")  # fmt: skip


async def bench_http(cmds: dict[str, list[str]], env: dict[str, str]) -> None:
    token = secrets.token_urlsafe(16)
    empty_proc, empty_url = spawn_http(cmds["empty"], env)
    ours_proc, ours_url = spawn_http(cmds["residency"], {**env, "POLYROUTE_HTTP_TOKENS": f"bench={token}:*"})
    try:
        rates: dict[str, list[float]] = {"empty": [], "ours": []}
        for _ in range(2):
            rates["empty"].append(await throughput(empty_url, "noop", None))
            rates["ours"].append(await throughput(ours_url, "check_residency", token))
    finally:
        for proc in (empty_proc, ours_proc):
            proc.terminate()
            proc.wait(10)
    base, mine = statistics.median(rates["empty"]), statistics.median(rates["ours"])
    ratio_line(
        f"HTTP {HTTP_CLIENTS} clients check_residency", mine, base, ">= 0.8x", mine / base >= 0.8, "calls/s"
    )


async def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        home = Path(tmp)
        env = environment(home)
        cmds = commands(home)
        steps: list[Callable[[dict[str, list[str]], dict[str, str]], Awaitable[Any]]] = [
            bench_cold, bench_stdio, bench_http,
        ]  # fmt: skip
        for step in steps:
            await step(cmds, env)


if __name__ == "__main__":
    asyncio.run(main())
