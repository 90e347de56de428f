"""`build_report`: verify the whole chain, then stream the log once and tally the period.

Verification comes first and covers the whole log (chain hashes are cumulative: the period's events
are only as trustworthy as every event before them). A failure does not stop the report — it says so
at the top, and `polyroute report` exits 1 — because the figures are still what the log holds now.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from polyroute.audit.event import VerifyResult
from polyroute.audit.store import AuditStore
from polyroute.audit.witness import store_name, verify_store
from polyroute.report.model import (
    ChainStatus,
    EvidenceReport,
    PrincipalRow,
    ProcessingRow,
    RefusalRow,
    RuleRow,
    SpendPoint,
    SpendRow,
    Totals,
)
from polyroute.report.sections import NOT_PROVEN, SECTIONS
from polyroute.report.tally import Tally
from polyroute.residency import Policy
from polyroute.settings import Settings


def bucketing(since: datetime | None, until: datetime | None) -> Callable[[datetime], str]:
    """Hours for a period of two days or less, else days (UTC)."""
    short = since is not None and until is not None and until - since <= timedelta(days=2)
    shape = "%Y-%m-%d %H:00" if short else "%Y-%m-%d"
    return lambda moment: moment.astimezone(UTC).strftime(shape)


class _Span:
    """The period's first and last events (seq, hash, and the hash the first links to)."""

    def __init__(self) -> None:
        self.first: dict[str, Any] | None = None
        self.first_hash: str | None = None
        self.last_seq: int | None = None
        self.last_hash: str | None = None
        self.unreadable = 0

    def add(self, event: dict[str, Any], hash_: str) -> None:
        if self.first is None:
            self.first, self.first_hash = event, hash_
        self.last_seq, self.last_hash = int(event["seq"]), hash_


def _event(line: str) -> tuple[dict[str, Any], str, datetime] | None:
    """(fields, hash, time) of an event line; None for a head line. ValueError (or KeyError, TypeError)
    for a line a tampered store made unreadable: the verification has already said what is wrong."""
    record: Any = json.loads(line)
    if not isinstance(record, dict) or record.get("type") != "event":  # pyright: ignore[reportUnknownMemberType]
        return None
    event = cast(dict[str, Any], record["event"])
    moment = datetime.fromisoformat(str(event["time"]))
    if moment.tzinfo is None:
        raise ValueError("an event time without its offset")
    return event, str(record["hash"]), moment  # pyright: ignore[reportUnknownArgumentType]


async def _stream(
    store: AuditStore, tally: Tally, span: _Span, since: datetime | None, until: datetime | None
) -> None:
    """Read the export once: events in [since, until) are tallied; later outcomes close intents."""
    async for line in store.export_lines():
        try:
            found = _event(line)
            if found is None:
                continue
            event, hash_, moment = found
            if until is not None and moment >= until:
                tally.resolve(event)
            elif since is None or moment >= since:
                tally.add(event, moment)
                span.add(event, hash_)
        except (ValueError, KeyError, TypeError, AttributeError):
            span.unreadable += 1


def _witness(result: VerifyResult) -> str:
    if result.witness_seq is not None:
        held = "still holds" if result.ok else "was checked against"
        return (
            f"the log {held} event {result.witness_seq} (hash {result.witness_hash}) recorded by the witness"
        )
    if result.ok and result.head_seq is not None:
        return f"none before this verification, which recorded event {result.head_seq} as the witness"
    return "none recorded" + ("" if result.ok else " (a failed verification records none)")


def _chain(result: VerifyResult, span: _Span, period_events: int, pem: str | None) -> ChainStatus:
    first = span.first or {}
    return ChainStatus(
        verified=result.ok,
        reason=result.reason,
        events_checked=result.events_checked,
        signatures_checked=result.signatures_checked,
        period_events=period_events,
        unreadable_events=span.unreadable,
        first_seq=first.get("seq"),
        first_hash=span.first_hash,
        first_prev_hash=first.get("prev_hash"),
        last_seq=span.last_seq,
        last_hash=span.last_hash,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        key_id=result.key_id,
        public_key_pem=pem,
        witness=_witness(result),
    )


def _rules(tally: Tally, policy: Policy) -> list[RuleRow]:
    rows: list[RuleRow] = []
    for (version, rule), calls in sorted(tally.rules.items()):
        sources: list[str] = []
        jurisdiction, _, data_class = rule.partition("/")
        found = policy.rule_for(jurisdiction, data_class) if version == policy.version else None
        if found is not None:
            sources = list(found.citations)
        rows.append(
            RuleRow(
                policy_version=version,
                rule=rule,
                calls=calls,
                refused=tally.rules_refused[(version, rule)],
                sources=sources,
            )
        )
    return rows


def _spend(tally: Tally) -> list[SpendRow]:
    return [
        SpendRow(
            provider=provider,
            model=model,
            team=team,
            calls=row[0],
            input_tokens=row[1],
            output_tokens=row[2],
            estimated_usd=row[3],
            cost_usd=row[4],
            estimate_error_usd=row[4] - row[3],
        )
        for (provider, model, team), row in sorted(tally.spend.items())
    ]


def _totals(tally: Tally) -> Totals:
    return Totals(
        events=tally.events,
        routed_calls=sum(tally.kinds[k] for k in ("completion", "failure", "refusal")),
        completions=tally.kinds["completion"],
        failures=tally.kinds["failure"],
        refusals=tally.kinds["refusal"],
        outcome_unknown=len(tally.open_intents),
        residency_mismatches=len(tally.mismatches),
        cost_usd=tally.cost,
        estimated_usd=tally.estimated,
    )


def _principals(tally: Tally, settings: Settings) -> list[PrincipalRow]:
    return [
        PrincipalRow(
            principal=p,
            teams=settings.teams_of(p),
            calls=n,
            refusals=tally.principal_refusals[p],
            cost_usd=tally.principal_cost[p],
        )
        for p, n in sorted(tally.principal_calls.items())
    ]


def _processing(tally: Tally) -> list[ProcessingRow]:
    return [
        ProcessingRow(jurisdiction=k[0], data_class=k[1], processing_country=k[2], provider=k[3], calls=n)
        for k, n in sorted(tally.processing.items())
    ]


async def _public_key(store: AuditStore) -> str | None:
    try:
        return await store.public_key_pem()
    except Exception:  # noqa: BLE001 - a missing or unreadable key is what the verification reports
        return None


async def build_report(
    store: AuditStore,
    settings: Settings,
    policy: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> EvidenceReport:
    """The report for [since, until) (either open-ended); verifies the whole log first (and moves the
    witness forward when it passes, as `polyroute audit verify` does)."""
    result = await verify_store(store, settings)
    pem = await _public_key(store)
    tally, span = Tally(settings.teams_of, bucketing(since, until)), _Span()
    await _stream(store, tally, span, since, until)
    return EvidenceReport(
        generated_at=datetime.now(UTC),
        since=since,
        until=until,
        store=store_name(settings),
        policy_in_force=policy.version,
        chain=_chain(result, span, tally.events, pem),
        totals=_totals(tally),
        processing=_processing(tally),
        rules=_rules(tally, policy),
        principals=_principals(tally, settings),
        refusals=[
            RefusalRow(reason=r, count=n, example=tally.refusal_example[r])
            for r, n in tally.refusals.most_common()
        ],
        mismatches=tally.mismatches,
        outcome_unknown=sorted(tally.open_intents.values(), key=lambda u: u.time),
        spend=_spend(tally),
        spend_over_time=[
            SpendPoint(bucket=b, provider=p, cost_usd=c) for (b, p), c in sorted(tally.over_time.items())
        ],
        sections=list(SECTIONS),
        not_proven=list(NOT_PROVEN),
    )
