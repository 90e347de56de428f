"""INTERFACE STUB — owned by the audit work; replace the bodies, keep the names.

Append-only, hash-chained, Ed25519-signed audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from polyroute.settings import Settings
from polyroute.types import Money, Usage

EventType = Literal["completion", "refusal", "route_decision", "residency_check", "cost_estimate", "budget", "external"]


class EventDraft(BaseModel):
    """What a caller hands to `append`; the store adds seq, time, hashes."""

    event_type: EventType
    principal: str
    tool: str | None = None
    request_id: str | None = None
    deployment: str | None = None
    provider: str | None = None
    model: str | None = None
    jurisdiction: str | None = None
    data_class: str | None = None
    allowed: bool | None = None
    reasons: list[str] = Field(default_factory=list[str])
    usage: Usage | None = None
    estimated_cost_usd: Money | None = None
    cost_usd: Money | None = None
    latency_ms: float | None = None
    prompt_digest: str | None = None
    completion_digest: str | None = None
    details: dict[str, Any] = Field(default_factory=dict[str, Any])


class AuditEvent(EventDraft):
    seq: int
    id: str  # the receipt id
    time: datetime
    prev_hash: str
    hash: str


class VerifyResult(BaseModel):
    ok: bool
    events_checked: int
    first_bad_seq: int | None
    reason: str | None = None


class AuditStore(Protocol):
    async def append(self, draft: EventDraft) -> AuditEvent: ...
    async def get(self, event_id: str) -> AuditEvent | None: ...
    async def verify(self) -> VerifyResult: ...
    async def aclose(self) -> None: ...


def open_store(settings: Settings) -> AuditStore:
    raise NotImplementedError


def content_digest(settings: Settings, text: str) -> str:
    """Keyed digest (HMAC-SHA256 with a local secret) of prompt/completion text."""
    raise NotImplementedError
