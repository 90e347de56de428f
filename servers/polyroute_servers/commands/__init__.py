"""One module per `polyroute` subcommand: `register(subparsers)` plus its handler."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from polyroute.app import App

Subparsers = argparse._SubParsersAction  # pyright: ignore[reportPrivateUsage]


class Handler(Protocol):
    def __call__(self, app: App, args: argparse.Namespace) -> int: ...
