"""What the dashboard shows, read from the running App: the same store, ledger and breakers the tools use.

Every figure comes from a library call a tool also makes (spend is `summarize` as `summarize_usage`
gives it), so the page and the tools cannot disagree. The chain check here is the cheap one a server
does at start (the latest head's signature, the hash it names, the witness), not a full recomputation:
the page says so, and `polyroute audit verify` or `polyroute report` does the full one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio

from polyroute.audit.event import AuditEvent, EventQuery, UsageSummary
from polyroute.budget import BudgetStatus, spend_keys
from polyroute.residency import Rule

if TYPE_CHECKING:
    from polyroute.app import App

RECENT, OUTCOMES = 20, ("completion", "failure", "refusal")


@dataclass(frozen=True)
class BudgetRow:
    status: BudgetStatus
    resets_at: datetime


@dataclass(frozen=True)
class DeploymentRow:
    id: str
    provider: str
    state: str
    blocked: str | None
    latency_ms: float
    requests_per_minute: str
    tokens_per_minute: str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    said: str


@dataclass
class Snapshot:
    principal: str
    taken_at: datetime
    since: datetime
    spend: list[UsageSummary]
    budgets: list[BudgetRow]
    recent: list[AuditEvent]
    refusals: list[AuditEvent]
    unknown: list[AuditEvent]
    deployments: list[DeploymentRow]
    chain: ChainCheck
    policy_version: str
    rules: list[Rule] = field(default_factory=list[Rule])


def _budgets(app: App, now: datetime) -> list[BudgetRow]:
    keys = spend_keys(app.settings.budgets, now)
    if not keys:
        return []
    statuses = app.router.budgets.ledger.totals(keys)
    return [BudgetRow(s, k.resets_at) for k, s in zip(keys, statuses, strict=True)]


def _deployments(app: App) -> list[DeploymentRow]:
    health, rows = app.router.health, []
    for d in app.catalog:
        requests, tokens = health.capacity_used(d.id)
        rpm, tpm = d.limits.requests_per_minute, d.limits.tokens_per_minute
        rows.append(
            DeploymentRow(
                id=d.id,
                provider=d.provider,
                state=health.state(d.id),
                blocked=health.blocked(d.id),
                latency_ms=health.latency_ms(d),
                requests_per_minute=f"{requests} / {rpm}" if rpm else f"{requests} / -",
                tokens_per_minute=f"{tokens} / {tpm}" if tpm else f"{tokens} / -",
            )
        )
    return sorted(rows, key=lambda r: (r.state == "closed", r.id))


async def chain_check(app: App) -> ChainCheck:
    """The latest signed head's signature and hash, and the witness, as a server checks them at start."""
    from polyroute.audit.signing import head_signature_ok, load_signer
    from polyroute.audit.witness import read_witness

    store = app.audit
    head = await store.latest_head()
    if head is None:
        return ChainCheck(True, "the log is empty")
    signer = load_signer(app.settings, create=False)
    if signer is None or signer.key_id != head.key_id or not head_signature_ok(head, signer.public_key):
        return ChainCheck(
            False, f"the latest signed head (event {head.seq}) does not verify with this installation's key"
        )
    if await store.hash_at(head.seq) != head.hash:
        return ChainCheck(False, f"event {head.seq} no longer has the hash its signed head names")
    witness = read_witness(app.settings)
    if witness is not None and await store.hash_at(witness.seq) != witness.hash:
        return ChainCheck(False, f"the log no longer holds event {witness.seq} recorded by the witness")
    held = f"; still holds witnessed event {witness.seq}" if witness else ""
    return ChainCheck(
        True, f"latest signed head: event {head.seq} by {head.key_id}, signature and hash check out{held}"
    )


async def snapshot(app: App, principal: str) -> Snapshot:
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    store = app.audit
    recent = [e for e in await store.query(EventQuery(limit=200)) if e.event_type in OUTCOMES][:RECENT]
    return Snapshot(
        principal=principal,
        taken_at=now,
        since=midnight,
        spend=list(await store.summarize("provider", EventQuery(since=midnight))),
        budgets=await anyio.to_thread.run_sync(_budgets, app, now),
        recent=recent,
        refusals=await store.query(EventQuery(event_type="refusal", limit=10)),
        unknown=await store.query(EventQuery(outcome_unknown=True, limit=10)),
        deployments=_deployments(app),
        chain=await chain_check(app),
        policy_version=app.policy.version,
        rules=list(app.policy.explain().rules),
    )
