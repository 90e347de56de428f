"""What every store does to a draft before its writer sees it (digests, id, body template, kept text),
and what it answers once the writer has committed it.

Shared by the SQLite and PostgreSQL stores, and done in the caller's task so that a bad value fails
only its own append, never the group commit it would have joined.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from polyroute.audit.batch import ContentRow, Written
from polyroute.audit.digest import content_digest
from polyroute.audit.event import (
    INTENT_SEQ,
    AuditEvent,
    EventContent,
    EventDraft,
    body_template,
    event_from_body,
    new_event_id,
)
from polyroute.errors import PolyrouteError
from polyroute.sendgate import DURABLE, Durability
from polyroute.settings import Settings


def prepare(
    settings: Settings,
    draft: EventDraft,
    content: EventContent | None,
    *,
    nul_ok: bool = True,
    intent_seq_later: bool = False,
) -> tuple[str, str, ContentRow | None]:
    """(event id, body template, text to keep): digests of `content` filled in, everything checked.
    `nul_ok=False` for a store that cannot keep a NUL character in text (PostgreSQL).
    `intent_seq_later`: an outcome naming an intent without its seq gets the `INTENT_SEQ` placeholder,
    for a store whose commit fills it in (the intent may wait in the journal)."""
    # shallow: the encoder dumps nested models itself. The instance dict, not `dict(draft)`: pydantic's
    # __iter__ walks the same fields through a generator (6 µs per event on the event loop; EventDraft
    # keeps no extra fields, and private attributes live elsewhere)
    fields: dict[str, Any] = {**draft.__dict__, **(draft.__pydantic_extra__ or {})}
    if content is not None:
        for kind in ("prompt", "completion"):
            text = getattr(content, kind)
            if text is not None and fields.get(f"{kind}_digest") is None:
                fields[f"{kind}_digest"] = content_digest(settings, text)
    if intent_seq_later and fields.get("intent_id") is not None and fields.get("intent_seq") is None:
        fields["intent_seq"] = INTENT_SEQ
    event_id = fields["id"] = new_event_id()
    try:
        template = body_template(fields)
    except ValueError as error:
        raise PolyrouteError(f"cannot record audit event: {error}") from None
    return event_id, template, kept_content(settings, content, nul_ok=nul_ok)


def append_failed(store: object, error: BaseException, *, tampering: bool) -> PolyrouteError:
    """The error an append that the database refused raises; `tampering`: it broke a constraint the
    chain relies on (e.g. a head already signed for this seq), which `audit verify` explains."""
    hint = " (run `polyroute audit verify`)" if tampering else ""
    return PolyrouteError(f"audit store {store}: append failed: {error}{hint}")


def kept_content(settings: Settings, content: EventContent | None, *, nul_ok: bool) -> ContentRow | None:
    """The text to keep (content logging on), checked here so that text the store cannot hold fails
    only its own append."""
    if content is None or not settings.audit.store_content:
        return None
    for text in (content.prompt, content.completion):
        try:
            (text or "").encode()
        except UnicodeError:
            raise PolyrouteError(
                "cannot record audit event: content that is not valid Unicode (a lone surrogate)"
            ) from None
        if not nul_ok and "\x00" in (text or ""):
            raise PolyrouteError("cannot record audit event: content with a NUL character")
    return ContentRow(content.prompt, content.completion)


class Ahead(NamedTuple):
    """A routed call's intent: its id; its seq when the store chained it at once (None while it waits
    in the SQLite journal: the outcome's `intent_seq` is then filled in when both are chained); and
    its `durable` state, still pending while a lone call's journal row is being written (sendgate.py:
    no provider request leaves before it is settled)."""

    id: str
    seq: int | None
    durable: Durability = DURABLE


class Appended(NamedTuple):
    """A committed event as its writer answers it: what an outcome needs to name its intent, without
    parsing the event back (`event()` does that, for callers that want the whole `AuditEvent`)."""

    id: str
    seq: int
    hash: str
    body: str

    @classmethod
    def of(cls, event_id: str, written: Written) -> Appended:
        seq, body, hash_ = written
        return cls(event_id, seq, hash_, body)

    def event(self) -> AuditEvent:
        return event_from_body(self.body, self.hash)
