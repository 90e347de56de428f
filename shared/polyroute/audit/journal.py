"""The intent journal: a routed call's intent, durable in one small write before any provider sees the
request, and chained by the next group commit.

Chaining an event is most of an append's cost on the caller's path: seven index entries (each one a
page in the WAL and a parse of the JSON body), the chain head and an Ed25519 signature, ~0.6 ms with
the fsync inside a routed call on these machines. The journal row is one short insert into a table
without indexes: ~0.3 ms with the fsync inside a call (0.13 ms in a tight loop), written by the journal
process (ahead.py) while the call builds its provider request, which leaves once the row is durable
(sendgate.py). Every chained commit, from any process on the file, first moves the whole journal into
the chain, oldest first, keeping each intent's own time (taken as its row was written), and deletes
those rows in the same transaction: a journaled intent is chained exactly once, and one left by a
process that died is chained by the next writer or reader of the file (`SqliteAuditStore` reads chain
it first). The journal holds no secret: a row's template carries its own random token
(`portable_template`), never the process's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from polyroute.audit.event import format_time, local_template, portable_template


class Journaled(NamedTuple):
    """One journal row, as the chained commit that promotes it reads it."""

    n: int
    id: str
    written: str
    token: str
    template: str

    def timed(self) -> tuple[str, str]:
        """(template, time) for `chained`: its own template, at the time taken as its row was written."""
        return local_template(self.template, self.token), self.written


Entry = tuple[str, str, str, str]
"""A journal row as inserted: (id, written, token, template)."""


def entry(template: str, event_id: str) -> Entry:
    """The row for one intent, timed now: just before the journal process (journald.py, which writes
    it) takes the write lock. Within this process no commit can come between (the writer's connection
    stays reserved until the row is answered); another process's commit in that moment would chain an
    earlier time after a later one, never a wrong order of seqs."""
    portable, token = portable_template(template)
    return event_id, format_time(datetime.now(UTC)), token, portable


def pending(db: sqlite3.Connection) -> Iterator[Journaled]:
    """Every journaled intent not yet chained, oldest first (inside the chained commit's transaction)."""
    for row in db.execute("SELECT n, id, written, token, template FROM journal ORDER BY n"):
        yield Journaled(*row)


def forget(db: sqlite3.Connection, through: int) -> None:
    """Drop the rows just chained (same transaction)."""
    db.execute("DELETE FROM journal WHERE n <= ?", (through,))


def waiting(db: sqlite3.Connection) -> bool:
    """Whether the journal holds intents not yet chained (a reader's cheap check)."""
    return db.execute("SELECT EXISTS (SELECT 1 FROM journal)").fetchone()[0] == 1
