"""`polyroute demo [--keep] [--live]`: the whole path, no API keys needed (and none used without --live).

Starts `polyroute serve suite` as a real stdio MCP server and drives it with the SDK's MCP client, in
a throwaway data dir (its own audit log and signing key) so a real audit log is never touched.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import error

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute_servers.demo_setup import Stage


CALL_TIMEOUT = 60.0  # seconds: a stuck server fails the demo with a message instead of hanging it


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="the whole path over MCP, no API keys needed",
        description="Start the suite MCP server and walk through catalog, residency, cost, a routed call and "
        "the audit trail. Every provider is a local stand-in unless you add --live.",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="store_true", help="keep the demo's data dir (audit log, key) afterwards"
    )
    parser.add_argument(
        "--live", action="store_true",
        help="call the real providers whose keys are set in this shell (costs money); a live provider "
        "that fails is shown as failed",
    )  # fmt: skip
    parser.add_argument("--offline", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.set_defaults(handler=run)


def run(app: App, args: argparse.Namespace) -> int:
    import anyio

    from polyroute_servers.demo_setup import build_stage

    workdir = Path(tempfile.mkdtemp(prefix="polyroute-demo-"))
    if args.live and args.offline:
        error("--live and --offline contradict each other")
        return 2
    stage = build_stage(workdir, live=args.live)
    try:
        return anyio.run(_drive, stage)
    finally:
        stage.close()
        if args.keep:
            print(f"\nKept the demo's data in {workdir}. Inspect it with:\n"
                  f"  POLYROUTE_DATA_DIR={workdir / 'data'} POLYROUTE_CONFIG={workdir / 'config.toml'} "
                  "polyroute audit verify")  # fmt: skip
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _drive(stage: Stage) -> int:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from polyroute_servers.client_config import server_command
    from polyroute_servers.demo_script import Demo, DemoFailure

    command, arguments = server_command("suite")
    params = StdioServerParameters(command=command, args=arguments, env=stage.env)
    log_path = stage.workdir / "server.log"
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as server_log:
        try:
            async with Client(
                stdio_client(params, errlog=server_log), read_timeout_seconds=CALL_TIMEOUT
            ) as client:
                tools = await client.list_tools()
                _header(stage, command, arguments, len(tools.tools), time.perf_counter() - started)
                await Demo(client, live=stage.live).run()
        except DemoFailure as failure:
            error(f"demo failed: {failure}")
            _tail(log_path, sys.stderr)
            return 1
        except Exception as failure:  # the server died or never spoke MCP: say so, show its log
            cause = _leaf(failure)
            error(f"demo failed: the suite server stopped answering ({type(cause).__name__}: {cause})")
            _tail(log_path, sys.stderr)
            return 1
    elapsed = time.perf_counter() - started
    print(f"\nDone in {elapsed:.1f} s. Everything above came over MCP from `polyroute serve suite`.")
    print("Connect your own client: scripts/install-client {claude-code|claude-desktop|cursor|vscode}")
    return 0


def _header(stage: Stage, command: str, arguments: list[str], tools: int, seconds: float) -> None:
    from polyroute_servers.output import table

    print("Polyroute demo — an MCP client talking to the Polyroute suite server over stdio")
    print(f"  server: {command} {' '.join(arguments)}  ({tools} tools, ready in {seconds:.1f} s)")
    print(f"  data:   {stage.workdir}  (a fresh audit log and signing key; removed at exit unless --keep)")
    print("  providers:")
    rows = [(provider, how) for provider, how in stage.providers.items()]
    print("    " + table(rows, ["provider", "served by"]).replace("\n", "\n    "))
    print("  Answers from a LOCAL STAND-IN are echoes for the demo, not model output.")
    if not stage.live:
        print("  No key from your shell is used: `polyroute demo --live` calls providers you have keys for.")
    print("  Prices are list prices from the bundled price data (the sovereign stand-in's is invented).")


def _leaf(failure: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, which task groups wrap errors in."""
    while isinstance(failure, BaseExceptionGroup) and failure.exceptions:
        failure = failure.exceptions[0]
    return failure


def _tail(path: Path, stream: TextIO, lines: int = 15) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return
    if text:
        stream.write("--- last lines of the server's log ---\n" + "\n".join(text) + "\n")
