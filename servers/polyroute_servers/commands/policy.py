"""`polyroute policy simulate …` (what a policy, catalog or price change would have done to the logged
calls) and `polyroute policy diff OLD NEW` (rule by rule). docs/simulation.md explains both.

Exit codes: 0 ok, 1 the log failed verification (no report), 2 usage (a bad file, date or option).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import print_json, print_table, usd

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.policydiff import PolicyDiff
    from polyroute.simreport import SimulationReport


def moment(text: str) -> datetime:
    """An ISO 8601 date or time for --since/--until (a time without zone is local time)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None


def register(subparsers: Subparsers) -> None:
    policy = subparsers.add_parser("policy", help="simulate a policy, catalog or price change; diff policies")
    actions = policy.add_subparsers(dest="action", metavar="ACTION", required=True)
    simulate = actions.add_parser(
        "simulate", help="replay the logged calls under a proposed policy, catalog or prices (writes nothing)"
    )
    simulate.add_argument("--policy", type=Path, metavar="FILE", help="proposed policy file (as in config)")
    simulate.add_argument("--catalog", type=Path, metavar="FILE", help="proposed [[deployments]] file")
    simulate.add_argument(
        "--prices", type=Path, metavar="FILE", help='proposed [prices."<id or model>"] file'
    )
    simulate.add_argument("--since", type=moment, metavar="ISO", help="only calls at or after this time")
    simulate.add_argument("--until", type=moment, metavar="ISO", help="only calls before this time")
    who = simulate.add_mutually_exclusive_group()
    who.add_argument("--principal", help="only this principal's calls")
    who.add_argument("--team", help="only calls by members of this team (config [teams])")
    simulate.add_argument("--json", action="store_true", help="one JSON document")
    simulate.set_defaults(handler=run_simulate)
    diff = actions.add_parser("diff", help="rule-by-rule differences between two policies")
    diff.add_argument("old", metavar="OLD", help="a policy file, 'bundled' or 'current'")
    diff.add_argument("new", metavar="NEW", help="a policy file, 'bundled' or 'current'")
    diff.add_argument("--json", action="store_true", help="one JSON document")
    diff.set_defaults(handler=run_diff)


def run_simulate(app: App, args: argparse.Namespace) -> int:
    from polyroute.simulation import Proposal, Window, simulate

    proposal = Proposal(policy=args.policy, catalog=args.catalog, prices=args.prices)
    window = Window(since=args.since, until=args.until, principal=args.principal, team=args.team)

    async def work() -> SimulationReport:
        try:
            return await simulate(app, proposal, window)
        finally:
            await app.aclose()

    report = anyio.run(work)
    if args.json:
        print_json(report)
    else:
        print_report(report)
    return 0


def print_report(report: SimulationReport) -> None:
    s, out = report.summary, sys.stdout
    out.write(
        f"{s.calls} calls replayed ({_extent(report)}): {s.unchanged} unchanged, "
        f"{s.rerouted} rerouted, {s.newly_refused} newly refused, {s.newly_allowed} newly allowed\n"
        f"spend {usd(s.spend_usd)} as logged → {usd(s.simulated_spend_usd)} simulated "
        f"({usd(s.baseline_spend_usd)} at today's configuration)\n"
    )
    if s.replay_differs_from_log:
        out.write(
            f"note: {s.replay_differs_from_log} calls would go elsewhere today even without the change\n"
        )
    out.write(f"policy {report.baseline.policy_version[:19]}… → {report.proposed.policy_version[:19]}…\n\n")
    rows = [
        (c.kind, c.from_deployment or "(refused)", c.to_deployment or "(refused)", c.rule or "", c.calls,
         usd(c.spend_usd), usd(c.simulated_spend_usd))
        for c in report.changes
    ]  # fmt: skip
    if rows:
        print_table(rows, ["change", "from", "to", "rule", "calls", "spend", "simulated"], title="changes")
        out.write("\n")
    rows = [
        (r.jurisdiction, r.data_class, r.calls, r.unchanged, r.rerouted, r.newly_refused, r.newly_allowed,
         usd(r.spend_usd), usd(r.simulated_spend_usd))
        for r in report.by_classification
    ]  # fmt: skip
    headers = [
        "jurisdiction",
        "class",
        "calls",
        "same",
        "rerouted",
        "refused",
        "allowed",
        "spend",
        "simulated",
    ]
    print_table(rows, headers, title="by jurisdiction × data class")


def _extent(report: SimulationReport) -> str:
    head = report.log.head_seq
    return "the log is empty" if head is None else f"verified log up to event {head}"


def run_diff(app: App, args: argparse.Namespace) -> int:
    from polyroute.policydiff import diff_policies, named_policy

    old = named_policy(app.settings, args.old)
    new = named_policy(app.settings, args.new)
    result = diff_policies(old, new, old_name=args.old, new_name=args.new)
    if args.json:
        print_json(result)
    else:
        print_diff(result)
    return 0


def print_diff(result: PolicyDiff) -> None:
    out = sys.stdout
    out.write(
        f"{result.old.name} ({result.old.version[:19]}…) → {result.new.name} ({result.new.version[:19]}…)\n"
    )
    if not result.changes:
        out.write(f"no differences ({result.unchanged} rules identical)\n")
        return
    for change in result.changes:
        mark = " [tighter]" if change.tighter else ""
        out.write(f"  {change.kind:<8} {change.summary}{mark}\n")
    out.write(f"{len(result.changes)} rules differ, {result.unchanged} identical\n")
