"""The evidence report's shape. Every figure is derived from audit events in the period; the chain
status says whether those events are the ones the signed log holds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from polyroute.types import Money


class ProcessingRow(BaseModel):
    """Routed calls that completed, by where the data came from and where it was processed."""

    jurisdiction: str
    data_class: str
    processing_country: str = Field(
        description="the provider's reported inference location, else the "
        "deployment's declared processing locations"
    )
    provider: str
    calls: int


class RuleRow(BaseModel):
    """Calls decided under one residency rule of one policy version."""

    policy_version: str
    rule: str = Field(description="jurisdiction/data_class")
    calls: int
    refused: int
    sources: list[str] = Field(
        description="the rule's citations when this version is the one in force; "
        "empty when the report cannot know them"
    )


class PrincipalRow(BaseModel):
    principal: str
    teams: list[str] = Field(description="teams in the configuration now (not as of the call)")
    calls: int
    refusals: int
    cost_usd: Money


class RefusalRow(BaseModel):
    reason: str = Field(description="the kind of refusal (the error it raised)")
    count: int
    example: str = Field(description="one refusal's message, as recorded")


class MismatchRow(BaseModel):
    """A completion the provider reports as processed outside the place the policy allowed."""

    receipt_id: str
    time: datetime
    deployment: str
    inference_geo: str | None
    jurisdiction: str | None
    data_class: str | None


class UnknownRow(BaseModel):
    """A routed call whose intent is logged and whose outcome is not (anywhere in the log)."""

    receipt_id: str
    time: datetime
    principal: str
    deployments: list[str]


class SpendRow(BaseModel):
    provider: str
    model: str
    team: str
    calls: int
    input_tokens: int
    output_tokens: int
    estimated_usd: Money
    cost_usd: Money
    estimate_error_usd: Money = Field(description="cost − estimate, summed (positive: estimates were low)")


class SpendPoint(BaseModel):
    bucket: str = Field(description="the hour or day (UTC) the spend falls in")
    provider: str
    cost_usd: Money


class ChainStatus(BaseModel):
    """Enough for anyone to re-verify the period from an export and the public key."""

    verified: bool
    reason: str | None = None
    events_checked: int = Field(description="events in the whole log whose chain was recomputed")
    signatures_checked: int = 0
    period_events: int
    unreadable_events: int = Field(default=0, description="stored events too damaged to count (tampering)")
    first_seq: int | None = None
    first_hash: str | None = None
    first_prev_hash: str | None = Field(
        default=None, description="the hash the period's first event links to"
    )
    last_seq: int | None = None
    last_hash: str | None = None
    head_seq: int | None = Field(default=None, description="the latest signed head, verified")
    head_hash: str | None = None
    key_id: str | None = None
    public_key_pem: str | None = None
    witness: str = Field(description="what the witness file said (see docs/audit.md)")


class Section(BaseModel):
    """One regulator's question, the report's answer to it, and where the question comes from."""

    id: str
    title: str
    asks: str
    answered_by: list[str] = Field(description="the report parts that answer it")
    source: str
    not_proven: str


class Totals(BaseModel):
    events: int
    routed_calls: int = Field(description="outcomes in the period: completions, failures and refusals")
    completions: int
    failures: int
    refusals: int
    outcome_unknown: int
    residency_mismatches: int
    cost_usd: Money
    estimated_usd: Money


class EvidenceReport(BaseModel):
    format: str = "polyroute-evidence-report/1"
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    store: str
    policy_in_force: str
    chain: ChainStatus
    totals: Totals
    processing: list[ProcessingRow]
    rules: list[RuleRow]
    principals: list[PrincipalRow]
    refusals: list[RefusalRow]
    mismatches: list[MismatchRow]
    outcome_unknown: list[UnknownRow]
    spend: list[SpendRow]
    spend_over_time: list[SpendPoint]
    sections: list[Section]
    not_proven: list[str]


ZERO = Decimal(0)
