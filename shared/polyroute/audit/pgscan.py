"""Whole-log scans of a PostgreSQL store in sequence order: verification and export pages.

Each scan reads one REPEATABLE READ snapshot, so appends committed meanwhile by any replica can
neither look like tampering nor tear an export; events stream through a server-side cursor, so
memory stays flat however long the log. The chain rules themselves are `ChainVerifier`'s, shared with
the SQLite store and with offline export verification.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from polyroute.audit.chain import Anchor, ChainVerifier
from polyroute.audit.event import VerifyResult
from polyroute.audit.export import event_line
from polyroute.audit.scan import HEADS, _head_line_as_found, head_of  # pyright: ignore[reportPrivateUsage]

_EVENTS = "SELECT seq, hash, body FROM events ORDER BY seq"


async def verify_pg(
    db: psycopg.AsyncConnection[Any], keys: dict[str, Ed25519PublicKey], anchors: Sequence[Anchor]
) -> VerifyResult:
    """Stream events and heads together in sequence order, as `polyroute.audit.scan` does for SQLite."""
    verifier = ChainVerifier(keys, anchors=anchors)
    async with db.transaction():
        await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        heads = db.cursor(name="polyroute_heads")
        events = db.cursor(name="polyroute_events")
        await heads.execute(HEADS)
        await events.execute(_EVENTS)
        head = await heads.fetchone()
        async for seq, hash_, body in events:
            while head is not None and head[0] < seq:  # a head for an event that is missing
                verifier.head(head_of(head))
                head = await heads.fetchone()
            if not verifier.event(seq, body, hash_):
                break
            while head is not None and head[0] == seq:
                verifier.head(head_of(head))
                head = await heads.fetchone()
        if head is not None and not verifier.failed:  # heads beyond the last event: events were deleted
            verifier.head(head_of(head))
            latest = await (await db.execute(f"{HEADS} DESC LIMIT 1")).fetchone()
            if latest is not None and latest[0] != head[0]:
                verifier.head(head_of(latest))
        await heads.close()
        await events.close()
    return verifier.result()


async def export_page_pg(db: psycopg.AsyncConnection[Any], after: int, end: int) -> list[str]:
    """Export lines of seq in (after, end]: events as stored, each head right after its event."""
    heads: dict[int, list[str]] = {}
    rows = await db.execute(
        "SELECT seq, hash, key_id, signed_at, signature FROM heads WHERE seq > %s AND seq <= %s ORDER BY seq",
        (after, end),
    )
    for row in await rows.fetchall():
        heads.setdefault(row[0], []).append(_head_line_as_found(row))
    lines: list[str] = []
    rows = await db.execute(
        "SELECT seq, hash, body FROM events WHERE seq > %s AND seq <= %s ORDER BY seq", (after, end)
    )
    for seq, hash_, body in await rows.fetchall():
        lines.append(event_line(body, hash_))
        lines.extend(heads.pop(seq, ()))
    for orphans in heads.values():  # heads whose event is missing: the verifier will say so
        lines.extend(orphans)
    return lines
