"""One group commit on the SQLite store: a batch of appends in one transaction under one signature.

The writer thread takes the write lock with `BEGIN IMMEDIATE`, reads the chain head inside it (so
other processes appending to the same file can neither fork nor gap the chain), chains what the intent
journal holds (journal.py) and then the batch, filling in each event's seq, time and previous hash
(and an outcome's `intent_seq`), inserts the events, signs the new head and commits; with WAL and
`synchronous=FULL` the commit is fsynced.
"""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime

from polyroute.audit import journal
from polyroute.audit.batch import Pending, Written
from polyroute.audit.event import GENESIS_HASH, chained, format_time, with_intent_seq
from polyroute.audit.signing import Signer
from polyroute.sqlitefile import is_busy

LOCK_TIMEOUT_S = 30.0


def commit(
    db: sqlite3.Connection, signer: Signer, batch: list[Pending], *, purge_before: str | None
) -> list[Written]:
    """Commit the batch; retried whole while another process holds a lock, for up to `LOCK_TIMEOUT_S`.
    `purge_before`: also drop stored content kept before that time (`format_time` text).

    Beyond `BEGIN IMMEDIATE`, a WAL read lock or the commit itself can be briefly busy while another
    process checkpoints or resets the WAL; the head is re-read inside each try, so a retry can neither
    fork nor gap the chain.
    """
    deadline = time.monotonic() + LOCK_TIMEOUT_S
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
    ahead = list(journal.pending(db))  # intents written ahead go first, each at its own time
    chained_at = {entry.id: seq + i for i, entry in enumerate(ahead, start=1)}  # for outcomes naming them
    events = [p for p in batch if not p.journaled]
    timed = [entry.timed() for entry in ahead] + [(_linked(db, p, chained_at), stamp) for p in events]
    rows = chained(timed, seq, prev)
    if not rows:  # only intents another process chained meanwhile
        return [(0, "", "") for _ in batch]
    seq, prev = rows[-1][0], rows[-1][1]
    contents = [
        (p.event_id, stamp, p.content.prompt, p.content.completion) for p in events if p.content is not None
    ]
    db.executemany("INSERT INTO events (seq, hash, body) VALUES (?, ?, ?)", rows)
    if ahead:
        journal.forget(db, ahead[-1].n)
    if contents:
        db.executemany(
            "INSERT INTO content (event_id, stored_at, prompt, completion) VALUES (?, ?, ?, ?)", contents
        )
    signature = signer.sign_stamped(seq, prev, stamp)
    db.execute(
        "INSERT INTO heads (seq, hash, key_id, signed_at, signature) VALUES (?, ?, ?, ?, ?)",
        (seq, prev, signer.key_id, stamp, signature),
    )
    return _answers(batch, rows, chained_at)


def _linked(db: sqlite3.Connection, pending: Pending, chained_at: dict[str, int]) -> str:
    """The template of `pending` with the seq of the intent it names, when it waited for one."""
    if pending.intent_of is None:
        return pending.template
    seq = chained_at.get(pending.intent_of)
    if seq is None:
        found = db.execute("SELECT seq FROM events WHERE id = ?", (pending.intent_of,)).fetchone()
        seq = None if found is None else int(found[0])
    return with_intent_seq(pending.template, seq)


def _answers(
    batch: list[Pending], rows: list[tuple[int, str, str]], chained_at: dict[str, int]
) -> list[Written]:
    """What each member of the batch is answered, in its order: (seq, body, hash) of its event (of
    its intent, for a journal marker; zeros when another commit chained that one). The rows start
    with the journal's, one per entry of `chained_at`."""
    first = rows[0][0]
    events = iter(rows[len(chained_at) :])
    answers: list[Written] = []
    for pending in batch:
        if pending.journaled:
            at = chained_at.get(pending.event_id)
            seq_, hash_, body = rows[at - first] if at is not None else (0, "", "")
        else:
            seq_, hash_, body = next(events)
        answers.append((seq_, body, hash_))
    return answers


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
