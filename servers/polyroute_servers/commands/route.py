"""`polyroute route explain RECEIPT_ID [--json]`: which rules and facts decided a past call, and where
today's policy and catalog would send it. Exit 1 when the log has no such receipt."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import anyio

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import print_json, print_table, usd

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.explanation import Decided, RouteExplanation


def register(subparsers: Subparsers) -> None:
    route = subparsers.add_parser("route", help="explain how a past call was routed")
    actions = route.add_subparsers(dest="action", metavar="ACTION", required=True)
    explain = actions.add_parser("explain", help="the facts and rules that decided a call, then and today")
    explain.add_argument("receipt_id", metavar="RECEIPT_ID", help="the receipt id `complete` returned")
    explain.add_argument("--json", action="store_true", help="one JSON document")
    explain.set_defaults(handler=run_explain)


def run_explain(app: App, args: argparse.Namespace) -> int:
    from polyroute.explanation import explain_route

    async def work() -> RouteExplanation:
        try:
            return await explain_route(app, args.receipt_id)
        finally:
            await app.aclose()

    explanation = anyio.run(work)
    if args.json:
        print_json(explanation)
    else:
        print_explanation(explanation)
    return 0


def print_explanation(e: RouteExplanation) -> None:
    f, out = e.facts, sys.stdout
    defaulted = " (defaulted: the request named none)" if f.classification_defaulted else ""
    out.write(
        f"receipt {e.receipt_id}: {e.status} at {e.time} for {e.principal}\n"
        f"  classification: {f.jurisdiction} / {f.data_class}{defaulted}\n"
        f"  strategy {f.strategy}, pinned {f.pinned or '-'}, requires {', '.join(f.required) or '-'}, "
        f"max_tokens {f.max_tokens}, input tokens {f.input_tokens}\n"
    )
    _decided("then", e.then)
    _decided("today", e.today)
    out.write("changed since: " + ("; ".join(e.changed) or "nothing") + "\n")


def _decided(label: str, d: Decided) -> None:
    out = sys.stdout
    out.write(f"\n{label}: {d.chosen or 'refused'} (policy {str(d.policy_version)[:19]}…)\n")
    if d.refusal:
        out.write(f"  refused: {d.refusal}\n")
    if d.candidates:
        rows = [(c.deployment, usd(c.expected_cost_usd), f"{c.score:.3f}") for c in d.candidates]
        print_table(rows, ["candidate", "expected", "score"])
    if d.exclusions:
        rows = [(x.deployment, x.stage, x.rule or "", x.reason) for x in d.exclusions]
        print_table(rows, ["excluded", "stage", "rule", "reason"])
