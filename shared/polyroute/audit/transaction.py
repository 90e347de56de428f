"""One group commit on the SQLite store: a batch of appends in one transaction under one signature.

Whoever commits — the writer thread, or a lone caller on its own thread (see writer.py) — takes the
write lock with `BEGIN IMMEDIATE`, reads the chain head inside it (so other processes appending to the
same file can neither fork nor gap the chain), fills in each event's seq, time and previous hash,
inserts the events, signs the new head and commits; with WAL and `synchronous=FULL` the commit is
fsynced.
"""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime

from polyroute.audit.batch import Pending, Written
from polyroute.audit.event import GENESIS_HASH, chained, format_time
from polyroute.audit.signing import Signer
from polyroute.sqlitefile import is_busy

LOCK_TIMEOUT_S = 30.0


def commit(
    db: sqlite3.Connection, signer: Signer, batch: list[Pending], *, patient: bool, purge_before: str | None
) -> list[Written]:
    """Commit the batch; retried whole while another process holds a lock, for up to `LOCK_TIMEOUT_S`
    if `patient`, else the busy error is raised at once. `purge_before`: also drop stored content kept
    before that time (`format_time` text).

    Beyond `BEGIN IMMEDIATE`, a WAL read lock or the commit itself can be briefly busy while another
    process checkpoints or resets the WAL; the head is re-read inside each try, so a retry can neither
    fork nor gap the chain.
    """
    deadline = time.monotonic() + (LOCK_TIMEOUT_S if patient else 0.0)
    while True:
        try:
            _begin_immediate(db, deadline)
            try:
                results = _insert(db, signer, batch)
                if purge_before is not None:
                    db.execute("DELETE FROM content WHERE stored_at < ?", (purge_before,))
                db.execute("COMMIT")
                return results
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() > deadline:
                raise
        _pause()


def _insert(db: sqlite3.Connection, signer: Signer, batch: list[Pending]) -> list[Written]:
    row = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
    stamp = format_time(datetime.now(UTC))
    rows = chained([pending.template for pending in batch], seq, prev, stamp)
    seq, prev = rows[-1][0], rows[-1][1]
    contents = [
        (p.event_id, stamp, p.content.prompt, p.content.completion) for p in batch if p.content is not None
    ]
    db.executemany("INSERT INTO events (seq, hash, body) VALUES (?, ?, ?)", rows)
    if contents:
        db.executemany(
            "INSERT INTO content (event_id, stored_at, prompt, completion) VALUES (?, ?, ?, ?)", contents
        )
    signature = signer.sign_stamped(seq, prev, stamp)
    db.execute(
        "INSERT INTO heads (seq, hash, key_id, signed_at, signature) VALUES (?, ?, ?, ?, ?)",
        (seq, prev, signer.key_id, stamp, signature),
    )
    return [(seq_, body, hash_) for seq_, hash_, body in rows]


def _pause() -> None:
    time.sleep(random.uniform(0.0001, 0.001))


def _begin_immediate(db: sqlite3.Connection, deadline: float) -> None:
    """Take the write lock, retrying briefly while another process holds it.

    SQLite's own busy handler backs off to 100 ms sleeps, which lets one busy process starve another;
    short randomised waits keep several appending processes fair and their latency low.
    """
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() > deadline:
                raise
        _pause()
