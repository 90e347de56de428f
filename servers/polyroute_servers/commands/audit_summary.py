"""`polyroute audit summarize`: calls, tokens and USD per group, with how far the estimates were off.

    polyroute audit summarize [--group-by provider|model|principal|day|deployment] [--principal P]
                              [--since ISO] [--until ISO] [--json]

The same figures as the audit server's `summarize_usage` (one `AuditStore.summarize` query): per group,
the routed calls, tokens and exact cost, then estimate against actual over the completions that carry
both — the estimated USD, actual − estimate summed, its mean relative error, and the input tokens'
mean relative error where receipts record the estimate. `--json` prints the `UsageSummary` rows.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, get_args

from polyroute_servers.commands.report import moment_arg
from polyroute_servers.output import print_json, print_table, usd

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.audit import UsageSummary


def register(actions: Any) -> None:
    """Add `summarize` to the `audit` subcommands (`actions` is its subparsers object)."""
    from polyroute.audit.event import GroupBy

    summarize = actions.add_parser("summarize", help="calls, tokens, USD and estimate error per group")
    summarize.add_argument("--group-by", choices=get_args(GroupBy), default="deployment",
                           help="default: deployment")  # fmt: skip
    summarize.add_argument("--principal", help="only this principal's calls")
    summarize.add_argument("--since", type=moment_arg, metavar="ISO", help="from this time (UTC unless said)")
    summarize.add_argument("--until", type=moment_arg, metavar="ISO", help="up to (not including) this time")
    summarize.add_argument("--json", action="store_true", help="one JSON document")
    summarize.set_defaults(handler=run_summarize)


def run_summarize(app: App, args: argparse.Namespace) -> int:
    from polyroute.audit.event import EventQuery
    from polyroute_servers.commands.audit import run_closing

    query = EventQuery(principal=args.principal, since=args.since, until=args.until)
    rows = run_closing(app, lambda: app.audit.summarize(args.group_by, query))
    if args.json:
        print_json({"group_by": args.group_by, "rows": rows})
        return 0
    headers = [args.group_by, "calls", "input", "output", "cost", "estimated", "error", "mean err",
               "input tok err"]  # fmt: skip
    print_table([_row(r) for r in rows], headers, title=f"usage by {args.group_by}")
    unknown = sum(r.outcome_unknown for r in rows)
    sys.stdout.write(
        "estimated / error: over the completions with an estimate (error = actual − estimate, mean err "
        "= mean relative error); input tok err: mean relative error of the input token estimate\n"
        + (f"{unknown} routed call(s) with outcome unknown (`polyroute audit tail`)\n" if unknown else "")
    )
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def _row(row: UsageSummary) -> list[Any]:
    token_error = _percent(row.input_token_error_mean)
    if row.input_token_error_mean_abs is not None:
        token_error += f" (|{row.input_token_error_mean_abs:.1%}|, {row.token_estimated_calls} calls)"
    return [
        row.key or "-", row.events, f"{row.input_tokens:,}", f"{row.output_tokens:,}", usd(row.cost_usd),
        usd(row.estimated_cost_usd) if row.estimated_calls else "-",
        usd(row.estimate_error_usd) if row.estimated_calls else "-",
        _percent(row.estimate_error_mean), token_error,
    ]  # fmt: skip
