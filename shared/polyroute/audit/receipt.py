"""A routed call's whole record from its receipt id, and the calls whose outcome the log never got.

A routed call leaves two events: its `intent` (the plan, durable before any provider sees the request;
its id is the receipt id `complete` returns) and then its outcome (`completion`, `failure`, or a
`refusal` when no provider was reached), which names the intent in `intent_id`. A process killed in
between leaves an intent alone: the provider may have seen (and billed) the request, so such calls
are reported as "outcome unknown" with every deployment that may have been contacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from polyroute.audit.event import AuditEvent, EventQuery
from polyroute.audit.store import AuditStore

ReceiptStatus = Literal["completed", "failed", "refused", "outcome unknown", "recorded"]
OUTCOME_UNKNOWN = "outcome unknown"
_STATUS: dict[str, ReceiptStatus] = {"completion": "completed", "failure": "failed", "refusal": "refused"}
MAX_UNRESOLVED = 10_000


class UnknownOutcome(BaseModel):
    """A routed call whose intent is in the log and whose outcome is not (the process died mid-call,
    or the call is still running)."""

    receipt_id: str
    seq: int
    time: datetime
    principal: str
    deployments: list[str] = Field(
        description="the deployments that may have been contacted: the plan's candidates, in the order "
        "they would have been tried"
    )


class Receipt(AuditEvent):
    """The call's latest word — its outcome event, or its intent while the outcome is unknown — with
    `receipt_id` (the intent's id), `status`, and the `intent` itself attached."""

    receipt_id: str
    status: ReceiptStatus
    intent: AuditEvent | None = None
    may_have_contacted: list[str] = Field(
        default_factory=list[str], description="outcome unknown: deployments that may have seen the request"
    )


def planned_deployments(intent: AuditEvent) -> list[str]:
    """The deployments an intent's plan would try, in order (its `details.candidates`)."""
    candidates: Any = intent.details.get("candidates") or []
    return [str(c.get("deployment")) for c in candidates if isinstance(c, dict)]  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType, reportUnknownVariableType]


def unknown_outcome(intent: AuditEvent) -> UnknownOutcome:
    return UnknownOutcome(
        receipt_id=intent.id,
        seq=intent.seq,
        time=intent.time,
        principal=intent.principal,
        deployments=planned_deployments(intent),
    )


async def find_receipt(store: AuditStore, receipt_id: str) -> Receipt | None:
    """The record of the call `receipt_id` names (an intent's id, or any event's id); None if unknown."""
    event = await store.get(receipt_id)
    if event is None:
        return None
    if event.event_type == "intent":
        outcomes = await store.query(EventQuery(intent_id=event.id, limit=1))
        if not outcomes:
            contacted = planned_deployments(event)
            fields = event.model_dump()
            return Receipt(
                **fields, receipt_id=event.id, status=OUTCOME_UNKNOWN, may_have_contacted=contacted
            )
        return _receipt(outcomes[0], event.id, event)
    if event.intent_id is not None:
        return _receipt(event, event.intent_id, await store.get(event.intent_id))
    return _receipt(event, event.id, None)


def _receipt(outcome: AuditEvent, receipt_id: str, intent: AuditEvent | None) -> Receipt:
    status = _STATUS.get(outcome.event_type, "recorded")
    return Receipt(**outcome.model_dump(), receipt_id=receipt_id, status=status, intent=intent)


async def unresolved_ids(
    store: AuditStore, since: datetime | None = None, until: datetime | None = None
) -> set[str]:
    """Ids of the intents without an outcome (few: crash leftovers and calls in flight)."""
    query = EventQuery(outcome_unknown=True, since=since, until=until, limit=MAX_UNRESOLVED)
    return {e.id for e in await store.query(query)}


async def unknown_among(store: AuditStore, events: Sequence[AuditEvent]) -> list[UnknownOutcome]:
    """The intents among `events` whose outcome the log does not hold (looked up only in the time span
    those intents cover, so a page of a long log costs a page's worth of lookups)."""
    intents = [e for e in events if e.event_type == "intent"]
    if not intents:
        return []
    since, until = min(e.time for e in intents), max(e.time for e in intents) + timedelta(microseconds=1)
    unresolved = await unresolved_ids(store, since, until)
    return [unknown_outcome(e) for e in events if e.id in unresolved]
