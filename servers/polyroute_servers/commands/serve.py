"""`polyroute serve {router|cost|residency|audit|suite} [--http] [--host H] [--port P] [--allowed-host N]`.

stdio by default (what desktop and IDE clients launch); `--http` for Streamable HTTP at `/mcp`.
`--log-format json` logs JSON lines with trace/span ids to stderr (docs/observability.md).
Over stdio nothing but protocol reaches stdout: the SDK points fd 1 at stderr while it serves, and
every log goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
from typing import TYPE_CHECKING

from polyroute_servers.commands import Subparsers

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute_servers.toolkit import PolyrouteServer

SERVERS = ("router", "cost", "residency", "audit", "suite")
DEFAULT_PORT = 8765


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {port}")
    return port


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run an MCP server (stdio, or Streamable HTTP with --http)",
        description="Run one Polyroute MCP server, or the suite with every tool. docs/http.md: tokens.",
    )
    parser.add_argument("server", choices=SERVERS, help="which server")
    parser.add_argument("--http", action="store_true", help="serve Streamable HTTP at /mcp instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="a Host name clients use to reach this server (DNS-rebinding protection); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=("text", "json"), default=None,
        help="log to stderr at INFO level: text, or JSON lines with trace/span ids (docs/observability.md)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def build(name: str, app: App) -> PolyrouteServer:
    module = importlib.import_module(f"polyroute_servers.{name}")
    return module.build(app)


def check_audit_witness(app: App) -> None:
    """Refuse to serve on an audit log cut short since it was last verified (the witness says how far it
    reached); on a sound log, move the witness to the latest validly signed head."""
    import anyio

    from polyroute.audit.witness import check_witness

    async def check() -> None:
        try:
            await check_witness(app.audit, app.settings)
        finally:  # this event loop ends here: its connections (a PostgreSQL pool) must not outlive it
            await app.audit.aclose()

    anyio.run(check)


def run(app: App, args: argparse.Namespace) -> int:
    if args.log_format is not None:
        from polyroute_servers.logformat import configure_logging

        configure_logging(args.log_format)
    app.telemetry  # noqa: B018  built before serving: a missing `otel` extra is a clear error (exit 2) now
    if args.server in ("router", "audit", "suite") or app.settings.audit.log_queries:  # they write the log
        check_audit_witness(app)
    server = build(args.server, app)
    if args.http:
        from polyroute_servers.http import serve_http

        return serve_http(
            server, app, host=args.host, port=args.port, allowed_hosts=args.allowed_host, env=os.environ
        )
    import anyio

    async def stdio() -> None:
        try:
            await server.run_stdio_async()
        finally:
            await app.aclose()

    anyio.run(stdio)
    return 0
