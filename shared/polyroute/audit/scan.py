"""Whole-log scans of a SQLite store in sequence order: verification and export pages.

Both read inside one transaction (or below a fixed head), so appends running meanwhile can neither
look like tampering nor tear an export.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from polyroute.audit.chain import Anchor, ChainVerifier, unverifiable_head
from polyroute.audit.event import SignedHead, VerifyResult, canonical_json
from polyroute.audit.export import event_line, head_line

HeadRow = tuple[int, Any, Any, Any, Any]


def _parsed_head(row: HeadRow) -> SignedHead:
    return SignedHead(seq=row[0], hash=row[1], key_id=row[2], signed_at=row[3], signature=row[4])


def head_of(row: HeadRow) -> SignedHead:
    """The head a row holds; a row too mangled to parse is a head that no key verifies."""
    try:
        return _parsed_head(row)
    except ValidationError:
        return unverifiable_head(row[0], row[1], row[2])


def _head_line_as_found(row: HeadRow) -> str:
    """The export line of a head row, mangled or not: judging it is the verifier's job."""
    try:
        return head_line(_parsed_head(row))
    except (ValidationError, ValueError):
        names = ("seq", "hash", "key_id", "signed_at", "signature")
        fields = {k: v if isinstance(v, int | str) else repr(v) for k, v in zip(names, row, strict=True)}
        return canonical_json({"type": "head", **fields})


def verify_snapshot(
    keys: dict[str, Ed25519PublicKey], anchors: Sequence[Anchor], db: sqlite3.Connection
) -> VerifyResult:
    """Heads and events from one read transaction, so concurrent appends cannot look like tampering.

    SQLite extracts each body's seq and prev_hash (fast); if a body is not even JSON that query fails,
    and the check runs again parsing every body in Python, which reports the bad event.
    """
    db.execute("BEGIN")
    try:
        try:
            return _verify_rows(keys, anchors, db, fast=True)
        except sqlite3.OperationalError:
            return _verify_rows(keys, anchors, db, fast=False)
    finally:
        db.execute("COMMIT")


_EVENTS_FAST = "SELECT seq, hash, body, body ->> '$.seq', body ->> '$.prev_hash' FROM events ORDER BY seq"
_EVENTS_SLOW = "SELECT seq, hash, body, NULL, NULL FROM events ORDER BY seq"
HEADS = "SELECT seq, hash, key_id, signed_at, signature FROM heads ORDER BY seq"


def _verify_rows(
    keys: dict[str, Ed25519PublicKey], anchors: Sequence[Anchor], db: sqlite3.Connection, *, fast: bool
) -> VerifyResult:
    """Stream events and heads together in sequence order (memory stays flat however long the log)."""
    verifier = ChainVerifier(keys, anchors=anchors)
    heads = db.execute(HEADS)
    head = heads.fetchone()
    for seq, hash_, body, claimed_seq, claimed_prev in db.execute(_EVENTS_FAST if fast else _EVENTS_SLOW):
        while head is not None and head[0] < seq:  # a head for an event that is missing
            verifier.head(head_of(head))
            head = heads.fetchone()
        if not verifier.event(seq, body, hash_, claims=(claimed_seq, claimed_prev) if fast else None):
            break
        while head is not None and head[0] == seq:
            verifier.head(head_of(head))
            head = heads.fetchone()
    if head is not None and not verifier.failed:  # heads beyond the last event: events were deleted
        verifier.head(head_of(head))
        latest = db.execute(f"{HEADS} DESC LIMIT 1").fetchone()  # how far the log reached
        if latest[0] != head[0]:
            verifier.head(head_of(latest))
    return verifier.result()


def export_page(after: int, end: int, db: sqlite3.Connection) -> list[str]:
    heads: dict[int, list[str]] = {}
    for row in db.execute(
        "SELECT seq, hash, key_id, signed_at, signature FROM heads WHERE seq > ? AND seq <= ? ORDER BY seq",
        (after, end),
    ):
        heads.setdefault(row[0], []).append(_head_line_as_found(row))
    lines: list[str] = []
    for seq, hash_, body in db.execute(
        "SELECT seq, hash, body FROM events WHERE seq > ? AND seq <= ? ORDER BY seq", (after, end)
    ):
        lines.append(event_line(body, hash_))
        lines.extend(heads.pop(seq, ()))
    for orphans in heads.values():  # heads whose event is missing: the verifier will say so
        lines.extend(orphans)
    return lines


def hash_at(seq: int, db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


def latest_head(db: sqlite3.Connection) -> SignedHead | None:
    row = db.execute(f"{HEADS} DESC LIMIT 1").fetchone()
    return None if row is None else head_of(row)
