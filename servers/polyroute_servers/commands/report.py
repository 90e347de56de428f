"""`polyroute report [--since ISO] [--until ISO] [--format html|pdf|json] [--output FILE]`: the evidence
report for a period. Exit 0 when the audit chain verified, 1 when it did not (the report is still
written, saying so at the top), 2 for bad arguments or a missing `report` extra."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from polyroute_servers.commands import Subparsers

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.report import EvidenceReport


def moment_arg(text: str) -> datetime:
    """ISO 8601; a date alone is midnight UTC, a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(subparsers: Subparsers) -> None:
    report = subparsers.add_parser("report", help="the evidence report for a period (HTML, PDF or JSON)")
    report.add_argument("--since", type=moment_arg, metavar="ISO", help="from this time (UTC unless it says)")
    report.add_argument("--until", type=moment_arg, metavar="ISO", help="up to (not including) this time")
    report.add_argument("--format", choices=("html", "pdf", "json"), default="html", help="default: html")
    report.add_argument("--output", type=Path, metavar="FILE", help="write here instead of stdout")
    report.set_defaults(handler=run_report)


def render(report: EvidenceReport, form: str) -> bytes:
    from polyroute_servers.reporting import need

    if form == "json":
        return (report.model_dump_json(indent=2) + "\n").encode()
    need("matplotlib", "charts")
    if form == "pdf":
        need("reportlab", "PDF")
        from polyroute_servers.reporting.pdf import render_pdf

        return render_pdf(report)
    from polyroute_servers.reporting.html import render_html

    return render_html(report).encode()


def run_report(app: App, args: argparse.Namespace) -> int:
    from polyroute.errors import ConfigError
    from polyroute.report import build_report

    if args.since and args.until and args.until <= args.since:
        raise ConfigError("--until must be after --since")
    if args.format == "pdf" and args.output is None and sys.stdout.isatty():
        raise ConfigError("a PDF is not for a terminal: pass --output FILE (or redirect stdout)")

    async def main() -> EvidenceReport:
        try:
            return await build_report(app.audit, app.settings, app.policy, since=args.since, until=args.until)
        finally:
            await app.aclose()

    report = anyio.run(main)
    data = render(report, args.format)
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        try:
            args.output.write_bytes(data)
        except OSError as error:
            raise ConfigError(f"cannot write {args.output}: {error.strerror}") from None
    if not report.chain.verified:
        sys.stderr.write(f"polyroute: AUDIT VERIFICATION FAILED: {report.chain.reason}\n")
        return 1
    return 0
