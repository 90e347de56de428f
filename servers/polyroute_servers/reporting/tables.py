"""The report's tables as plain text cells, shared by the HTML and PDF renderers (one place decides
what a column shows and how money is written)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polyroute.report import EvidenceReport


def money(amount: Decimal) -> str:
    """USD to the micro-dollar: calls on small models cost fractions of a cent."""
    return f"${amount:,.6f}"


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    empty: str = "none in this period"


def chain_rows(report: EvidenceReport) -> list[tuple[str, str]]:
    chain = report.chain
    return [
        ("Verification", "PASSED" if chain.verified else f"FAILED: {chain.reason}"),
        ("Events in the log checked", str(chain.events_checked)),
        ("Head signatures checked", str(chain.signatures_checked)),
        ("Events in this period", str(chain.period_events)),
        ("Events too damaged to count", str(chain.unreadable_events)),
        ("First event (seq, hash)", f"{chain.first_seq} {chain.first_hash or '-'}"),
        ("It links to (prev_hash)", chain.first_prev_hash or "-"),
        ("Last event (seq, hash)", f"{chain.last_seq} {chain.last_hash or '-'}"),
        ("Signed head verified against", f"{chain.head_seq} {chain.head_hash or '-'}"),
        ("Public key id", chain.key_id or "-"),
        ("Witness", chain.witness),
        ("Policy in force", report.policy_in_force),
    ]


def _who(report: EvidenceReport) -> list[Table]:
    """Where, under which rules, by whom."""
    processing = [
        (r.jurisdiction, r.data_class, r.processing_country, r.provider, str(r.calls))
        for r in report.processing
    ]
    rules = [
        (r.policy_version[:19] + "…", r.rule, str(r.calls), str(r.refused), "; ".join(r.sources) or "-")
        for r in report.rules
    ]
    principals = [
        (r.principal, ", ".join(r.teams) or "-", str(r.calls), str(r.refusals), money(r.cost_usd))
        for r in report.principals
    ]
    return [
        Table(
            "processing",
            "What was processed where",
            ("Jurisdiction", "Data class", "Processing country", "Provider", "Calls"),
            processing,
        ),
        Table(
            "rules",
            "Under which rules and policy versions",
            ("Policy version", "Rule", "Calls", "Refused", "Sources"),
            rules,
        ),
        Table(
            "principals",
            "By which principals and teams",
            ("Principal", "Teams", "Calls", "Refusals", "Cost"),
            principals,
        ),
    ]


def _exceptions(report: EvidenceReport) -> list[Table]:
    """Refusals, mismatches and calls whose outcome the log never got."""
    refusals = [(r.reason, str(r.count), r.example) for r in report.refusals]
    mismatches = [
        (
            r.receipt_id,
            f"{r.time:%Y-%m-%d %H:%M:%S}",
            r.deployment,
            r.inference_geo or "-",
            f"{r.jurisdiction}/{r.data_class}",
        )
        for r in report.mismatches
    ]
    unknown = [
        (r.receipt_id, f"{r.time:%Y-%m-%d %H:%M:%S}", r.principal, ", ".join(r.deployments))
        for r in report.outcome_unknown
    ]
    return [
        Table("refusals", "Refusals by reason", ("Reason", "Count", "Example"), refusals),
        Table(
            "mismatches",
            "Residency mismatches",
            ("Receipt", "Time", "Deployment", "Reported location", "Jurisdiction / class"),
            mismatches,
        ),
        Table(
            "outcome_unknown",
            "Outcome unknown (intent logged, no outcome)",
            ("Receipt", "Time", "Principal", "May have contacted"),
            unknown,
        ),
    ]


def _spend(report: EvidenceReport) -> Table:
    rows = [
        (
            r.provider,
            r.model,
            r.team,
            str(r.calls),
            f"{r.input_tokens}/{r.output_tokens}",
            money(r.estimated_usd),
            money(r.cost_usd),
            money(r.estimate_error_usd),
        )
        for r in report.spend
    ]
    headers = ("Provider", "Model", "Team", "Calls", "Tokens in/out", "Estimated", "Cost", "Cost − estimate")
    return Table("spend", "Spend and estimate error", headers, rows)


def tables(report: EvidenceReport) -> list[Table]:
    return [*_who(report), *_exceptions(report), _spend(report)]


def totals_rows(report: EvidenceReport) -> list[tuple[str, str]]:
    t = report.totals
    return [
        ("Routed calls", str(t.routed_calls)),
        ("Completed", str(t.completions)),
        ("Failed", str(t.failures)),
        ("Refused", str(t.refusals)),
        ("Outcome unknown", str(t.outcome_unknown)),
        ("Residency mismatches", str(t.residency_mismatches)),
        ("Cost", money(t.cost_usd)),
        ("Estimated", money(t.estimated_usd)),
    ]


def period(report: EvidenceReport) -> str:
    start = f"{report.since:%Y-%m-%d %H:%M} UTC" if report.since else "the first event"
    end = f"{report.until:%Y-%m-%d %H:%M} UTC" if report.until else "the last event"
    return f"{start} to {end}"
