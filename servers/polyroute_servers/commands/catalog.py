"""`polyroute catalog list [--json]`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import print_json, print_table

if TYPE_CHECKING:
    from polyroute.app import App


def register(subparsers: Subparsers) -> None:
    catalog = subparsers.add_parser("catalog", help="the deployment catalog")
    actions = catalog.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list every deployment")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    listing.set_defaults(handler=list_deployments)


def list_deployments(app: App, args: argparse.Namespace) -> int:
    deployments = list(app.catalog)
    if args.json:
        rows: list[dict[str, Any]] = [d.model_dump(mode="json", exclude={"sources"}) for d in deployments]
        print_json({"deployments": rows})
        return 0
    from polyroute.locations import summarize

    print_table(
        [
            (d.id, d.provider, d.model, summarize(d.processing_locations), summarize(d.storage_locations),
             f"{d.context_window:,}", ",".join(sorted(d.capabilities)), d.origin)
            for d in deployments
        ],
        ["id", "provider", "model", "processing", "storage", "context", "capabilities", "origin"],
        title=f"{len(deployments)} deployments",
    )  # fmt: skip
    return 0
