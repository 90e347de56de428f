"""PLACEHOLDER — `polyroute demo`: owned by the issue that builds it; replace this module."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import error

if TYPE_CHECKING:
    from polyroute.app import App


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("demo", help="(not built yet)")
    parser.set_defaults(handler=run)


def run(app: App, args: argparse.Namespace) -> int:
    error("polyroute demo is not built yet")
    return 2
