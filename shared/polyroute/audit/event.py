"""Audit events and their canonical encoding.

The canonical encoding is what gets hashed, stored and exported, so it must never drift:
JSON, keys sorted by code point, no whitespace, UTF-8 (non-ASCII kept as is), top-level keys whose
value is null left out (so optional fields can be added without changing old hashes), Decimals as
strings (`"0.0123"`), datetimes as RFC 3339 UTC with microseconds (`"2026-11-25T09:30:00.000000Z"`),
floats as JSON numbers in their shortest round-trip form, NaN and infinities refused.
An event's hash is SHA-256 over its canonical encoding, which holds `seq` and `prev_hash`: that is
the chain. docs/audit.md is the reference for third-party verifiers.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import time as _time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from polyroute.types import Money, Usage

EventType = Literal[
    "intent",
    "completion",
    "failure",
    "refusal",
    "route_decision",
    "residency_check",
    "cost_estimate",
    "budget",
    "event",
    "external",
]
"""`intent`: a routed call's plan, durable before any provider sees the request; its outcome is a
`completion` or a `failure` (every attempt failed, or the caller gave up) naming it in `intent_id`.
A `refusal` is a call denied before any provider (no intent). An intent with no outcome: the process
died (or the call is still running) — "outcome unknown". `event` is what `record_event` writes;
`external` is its name in logs written before 2026-12-04, still read (and matched by an `event` query)."""
GroupBy = Literal["provider", "model", "principal", "day", "deployment"]

GENESIS_HASH = "0" * 64
"""The `prev_hash` of event 1."""
_TOKEN = secrets.token_hex(16)  # placeholders hold it: random per process, never in a recorded value
_SEQ, _TIME, _PREV = (f"{_TOKEN}-{name}" for name in ("seq", "time", "prev_hash"))
# what follows the token in each placeholder (`seq`'s closing quote too: its number is written bare)
_PREV_REST, _SEQ_REST, _TIME_REST = "-prev_hash", '-seq"', "-time"
INTENT_SEQ = f"{_TOKEN}-intent_seq"
"""Placeholder for an outcome's `intent_seq` while its intent waits in the journal (journal.py)."""


class EventDraft(BaseModel):
    """What a caller hands to `append`; the store adds seq, id, time and hashes."""

    event_type: EventType
    principal: str
    tool: str | None = None
    request_id: str | None = None
    deployment: str | None = None
    provider: str | None = None
    model: str | None = None
    jurisdiction: str | None = None
    data_class: str | None = None
    classification_defaulted: bool | None = None
    allowed: bool | None = None
    reasons: list[str] = Field(default_factory=list[str])
    policy_version: str | None = None
    request_hash: str | None = None
    usage: Usage | None = None
    estimated_cost_usd: Money | None = None
    cost_usd: Money | None = None
    latency_ms: float | None = None
    inference_geo: str | None = None
    prompt_digest: str | None = None
    completion_digest: str | None = None
    intent_id: str | None = Field(default=None, description="an outcome's intent (its receipt id)")
    intent_seq: int | None = Field(default=None, description="the sequence number of that intent")
    details: dict[str, Any] = Field(default_factory=dict[str, Any])


class AuditEvent(EventDraft):
    """One committed event: `hash` is SHA-256 of the canonical encoding of every other field."""

    seq: int
    id: str  # the receipt id
    time: datetime
    prev_hash: str
    hash: str


class EventContent(BaseModel):
    """Prompt and completion text, kept only when `audit.store_content` is on (purged after retention)."""

    prompt: str | None = None
    completion: str | None = None


class EventQuery(BaseModel):
    """Filters for `query` and `summarize`; every filter given must match."""

    model_config = ConfigDict(extra="forbid")
    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    provider: str | None = None
    deployment: str | None = None
    model: str | None = None
    event_type: EventType | None = None
    allowed: bool | None = None
    intent_id: str | None = Field(default=None, description="the outcome(s) of this intent")
    outcome_unknown: bool = Field(default=False, description="only intents with no outcome in the log")
    before_seq: int | None = Field(default=None, ge=1, description="only events older than this one (paging)")
    limit: int = Field(default=100, ge=1, le=10_000)


class UsageSummary(BaseModel):
    key: str | None
    events: int = Field(description="events in the group, each routed call once (intents not counted)")
    input_tokens: int
    output_tokens: int
    cost_usd: Money
    outcome_unknown: int = Field(
        default=0, description="routed calls whose intent is logged but whose outcome is not (tokens and "
        "cost unknown; grouped by the deployment planned first)",
    )  # fmt: skip
    estimated_calls: int = Field(default=0, description="completions carrying both an estimate and a cost")
    estimated_cost_usd: Money = Field(default=Decimal(0), description="what those calls were estimated at")
    estimate_error_usd: Money = Field(
        default=Decimal(0), description="actual − estimated cost of those calls (positive: estimates low)"
    )
    estimate_error_mean: float | None = Field(
        default=None, description="mean of (actual − estimate) / estimate over those calls (bias)"
    )
    estimate_error_mean_abs: float | None = Field(
        default=None, description="mean of |actual − estimate| / estimate over those calls"
    )
    token_estimated_calls: int = Field(
        default=0, description="completions whose receipt records the input tokens estimated for the "
        "deployment that answered (`details.estimated_input_tokens`)",
    )  # fmt: skip
    estimated_input_tokens: int = Field(default=0, description="input tokens those calls were estimated at")
    actual_input_tokens: int = Field(
        default=0, description="their whole input as reported (uncached + cache reads + cache writes)"
    )
    input_token_error_mean: float | None = Field(
        default=None, description="mean of (actual − estimated) / estimated input tokens (bias)"
    )
    input_token_error_mean_abs: float | None = Field(
        default=None, description="mean of |actual − estimated| / estimated input tokens"
    )


class VerifyResult(BaseModel):
    """The outcome of verifying a log or an export; `first_bad_seq` is None when `ok`."""

    ok: bool
    events_checked: int
    first_bad_seq: int | None
    reason: str | None = None
    heads_checked: int = 0
    signatures_checked: int = Field(default=0, description="heads whose Ed25519 signature was verified")
    head_seq: int | None = Field(default=None, description="sequence covered by the latest signed head")
    head_hash: str | None = None
    key_id: str | None = None
    witness_seq: int | None = Field(default=None, description="the head the witness file held before")
    witness_hash: str | None = None
    outcome_unknown: int = Field(
        default=0,
        description="routed calls whose intent is logged but whose outcome is not (see query_events)",
    )


class SignedHead(BaseModel):
    """A signature over the chain head (latest seq and hash) made at one commit."""

    seq: int
    hash: str
    key_id: str
    signed_at: datetime
    signature: str  # base64 of the 64-byte Ed25519 signature


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, always the same width."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Encoded:
    """A value already in canonical form, spliced into a larger encoding as is: what every event of a
    routed call repeats (its plan's candidates and exclusions) is encoded once per call, not per event."""

    __slots__ = ("text",)

    def __init__(self, value: Any) -> None:
        """ValueError if `value` cannot be recorded (as `body_template` would raise it)."""
        try:
            self.text = canonical_json(value)
            self.text.encode()  # a lone surrogate would fail later, inside the writer's batch
        except UnicodeEncodeError:
            raise ValueError("text that is not valid Unicode (a lone surrogate)") from None
        except (TypeError, ValueError, RecursionError) as error:
            raise ValueError(str(error)) from None


def _default(spliced: list[Encoded], value: Any) -> Any:
    """`json.dumps` hook for what JSON lacks, under the canonical rules (the C encoder does the rest)."""
    if isinstance(value, Encoded):  # a placeholder, replaced by the fragment once encoded
        spliced.append(value)
        return f"{_TOKEN}-encoded-{len(spliced) - 1}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"audit values must be finite, got {value}")
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, Mapping):
        return dict(value)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    if isinstance(value, set | frozenset):
        return sorted(value, key=canonical_json)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    raise ValueError(f"cannot record a {type(value).__name__} in an audit event")


def canonical_json(value: Any) -> str:
    """The canonical text of a value (see the module docstring)."""
    spliced: list[Encoded] = []
    text = json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=partial(_default, spliced),
    )
    for index, fragment in enumerate(spliced):
        text = text.replace(f'"{_TOKEN}-encoded-{index}"', fragment.text, 1)
    return text


def canonical_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level fields with nulls and `hash` left out, checked to encode canonically (ValueError if not)."""
    kept = {k: v for k, v in fields.items() if v is not None and k != "hash"}
    try:
        canonical_json(kept)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(str(error)) from None
    return kept


def event_body(fields: Mapping[str, Any]) -> str:
    """The canonical encoding of an event (everything but `hash`): what is stored and hashed."""
    return canonical_json(canonical_fields(fields))


def body_template(fields: Mapping[str, Any]) -> str:
    """The canonical body with placeholders for what only the commit knows (seq, time, prev_hash).

    Encoding happens in the caller's task (where a bad value fails only that append), leaving the
    writer three string substitutions per event inside its lock. The placeholders hold a random
    per-process token that never leaves memory, so no recorded value can contain one.
    """
    kept = {
        k: v for k, v in fields.items() if v is not None and k not in ("hash", "seq", "time", "prev_hash")
    }
    kept.update(seq=_SEQ, time=_TIME, prev_hash=_PREV)
    try:
        text = canonical_json(kept)
        text.encode()  # a lone surrogate would fail later, inside the writer's batch
    except UnicodeEncodeError:
        raise ValueError("text that is not valid Unicode (a lone surrogate)") from None
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(str(error)) from None
    return text


def fill_template(template: str, seq: int, time: str, prev_hash: str) -> str:
    """The canonical body: exactly `event_body` of the same fields with these three added.

    One pass over the template (the writer thread fills every event of a batch inside its lock): the
    token occurs only in the three placeholders, which sorted keys put in the order prev_hash, seq,
    time. Anything else (never made by `body_template`) takes the three plain replacements.
    """
    parts = template.split(_TOKEN)
    if len(parts) == 4:
        head, after_prev, after_seq, after_time = parts
        if (
            after_prev.startswith(_PREV_REST)
            and after_prev.endswith('"')
            and after_seq.startswith(_SEQ_REST)
            and after_time.startswith(_TIME_REST)
        ):
            return "".join(
                (head, prev_hash, after_prev[len(_PREV_REST) : -1], str(seq), after_seq[len(_SEQ_REST) :],
                 time, after_time[len(_TIME_REST) :])
            )  # fmt: skip
    body = template.replace(f'"{_SEQ}"', str(seq), 1).replace(_TIME, time, 1)
    return body.replace(_PREV, prev_hash, 1)


def portable_template(template: str) -> tuple[str, str]:
    """(`template` with this process's token swapped for a fresh one, that token): what the journal
    stores, so that any process can fill it (`local_template`) and the process token stays in memory."""
    token = secrets.token_hex(16)
    return template.replace(_TOKEN, token), token


def local_template(portable: str, token: str) -> str:
    """A `portable_template` made with `token`, back in this process's placeholders (for `chained`)."""
    return portable.replace(token, _TOKEN)


def with_intent_seq(template: str, seq: int | None) -> str:
    """An outcome's template with its intent's seq in place of `INTENT_SEQ` (the key is dropped when
    the intent is not in the log: then `intent_id` alone names it)."""
    if seq is None:
        return template.replace(f',"intent_seq":"{INTENT_SEQ}"', "", 1)
    return template.replace(f'"{INTENT_SEQ}"', str(seq), 1)


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def chained(timed: list[tuple[str, str]], head_seq: int, head_hash: str) -> list[tuple[int, str, str]]:
    """(seq, hash, body) of each (template, time) (`body_template`, `format_time`) appended in order
    after the chain head."""
    rows: list[tuple[int, str, str]] = []
    seq, prev = head_seq, head_hash
    for template, time in timed:
        seq += 1
        body = fill_template(template, seq, time, prev)
        prev = body_hash(body)
        rows.append((seq, prev, body))
    return rows


_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def new_event_id(now: float | None = None) -> str:
    """`evt_` + 32 hex: 48-bit milliseconds then 80 random bits, so ids sort by creation time.

    Ids need uniqueness, not secrecy, so a generator seeded from the OS (reseeded after fork) serves
    them: `os.urandom` per event cost more than the rest of an append on a busy machine.
    """
    millis = int((now if now is not None else _time.time()) * 1000)
    return f"evt_{millis:012x}{_ids.getrandbits(80):020x}"


def event_from_body(body: str, hash_: str) -> AuditEvent:
    """The event a stored body holds; ValueError (or pydantic's subclass of it) if it holds none."""
    if not body.startswith("{") or not body.endswith("}"):
        raise ValueError("an audit event body must be a JSON object")
    return AuditEvent.model_validate_json(f'{body[:-1]},"hash":"{hash_}"}}')
