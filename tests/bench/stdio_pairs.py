"""Stdio round trips to several MCP servers at once, one call each in turn, timed in wall and CPU.

Taking turns call by call (rather than server by server) lets a load spike from other work on the
machine fall on every server alike; CPU per call (the client's, this process, and the server's, from
/proc) is what such load inflates least.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import time
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters, stdio_client

INFO = {"name": "bench", "version": "1"}
Arguments = dict[str, Any]
Call = Callable[[], Awaitable[float]]
Session = tuple[Call, int]  # a timed call and the server's process id


def children() -> set[int]:
    """This process's child process ids (Linux /proc; elsewhere none, and a server's CPU counts as 0)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def sdk_session(
    argv: list[str], env: dict[str, str], tool: str, args: Arguments
) -> AsyncIterator[Session]:
    """A server behind the SDK client (which also re-validates every result against the tool's output
    schema); yields a function making one timed tool call, and the server's process id."""
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    before = children()
    async with Client(stdio_client(params, errlog=subprocess.DEVNULL)) as client:  # type: ignore[arg-type]
        spawned = children() - before

        async def call() -> float:
            started = time.perf_counter()
            result = await client.call_tool(tool, args)
            elapsed = time.perf_counter() - started
            assert not result.is_error, result
            return elapsed

        yield call, spawned.pop() if len(spawned) == 1 else 0


@asynccontextmanager
async def raw_session(
    argv: list[str], env: dict[str, str], tool: str, args: Arguments
) -> AsyncIterator[Session]:
    """A server with JSON-RPC lines written straight to its pipe: the server and transport, without the
    SDK client's own work."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdin=PIPE, stdout=PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 20
    )
    assert proc.stdin and proc.stdout
    stdin, stdout = proc.stdin, proc.stdout
    numbers = itertools.count()

    async def ask(method: str, params: dict[str, Any]) -> dict[str, Any]:
        line = {"jsonrpc": "2.0", "id": next(numbers), "method": method, "params": params}
        stdin.write(json.dumps(line).encode() + b"\n")
        await stdin.drain()
        return json.loads(await stdout.readline())

    async def call() -> float:
        started = time.perf_counter()
        answer = await ask("tools/call", {"name": tool, "arguments": args})
        elapsed = time.perf_counter() - started
        assert not answer["result"].get("isError"), answer
        return elapsed

    await ask("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": INFO})
    stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
    try:
        yield call, proc.pid
    finally:
        stdin.close()
        await proc.wait()


class Side:
    """One server's round trips: wall times, and CPU per call in the client (this process: only one call
    is in flight at a time) and in the server (from /proc) — CPU is what machine load does not inflate."""

    def __init__(self, pid: int) -> None:
        self.pid, self.times, self.client_cpu, self.server_cpu = pid, list[float](), 0.0, 0.0

    def cpu_ms(self) -> float:
        return (self.client_cpu + self.server_cpu) / len(self.times) * 1000


async def paired_round_trips(
    session: Callable[[list[str], dict[str, str], str, Arguments], AbstractAsyncContextManager[Session]],
    servers: dict[str, tuple[list[str], str]],
    env: dict[str, str],
    args: Arguments,
    *,
    warm_up: int,
    calls: int,
) -> dict[str, Side]:
    """Round trips to every server, one call each in turn (the first in each round rotating), so load
    from other work on the machine falls on all sides alike; the first calls (first-use imports and
    caches) are not counted."""
    async with AsyncExitStack() as stack:
        opened: dict[str, Session] = {}
        for name, (argv, tool) in servers.items():
            opened[name] = await stack.enter_async_context(session(argv, env, tool, args))
        sides = {name: Side(pid) for name, (_, pid) in opened.items()}
        order = list(opened)
        for number in range(warm_up + calls):
            if number == warm_up:
                for side in sides.values():
                    side.server_cpu = -cpu_seconds(side.pid)
            for name in order[number % len(order) :] + order[: number % len(order)]:
                cpu = time.process_time()
                elapsed = await opened[name][0]()
                if number >= warm_up:
                    sides[name].times.append(elapsed)
                    sides[name].client_cpu += time.process_time() - cpu
        for side in sides.values():
            side.server_cpu += cpu_seconds(side.pid)
    return sides
