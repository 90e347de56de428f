"""Group commit for the SQLite store: one writer thread, one transaction and one signature per batch.

Appends from any number of tasks (and event loops) queue up while the previous batch commits; the
thread then takes everything waiting, and in one `BEGIN IMMEDIATE` transaction reads the chain head
(inside the lock, so other processes appending to the same file can neither fork nor gap the chain),
inserts the events, signs the new head and commits. With WAL and `synchronous=FULL` the commit is
fsynced, so an append returns only once its event is durable and covered by a signed head.

An append can also be queued without waiting (`enqueue`): a routed call's outcome joins the next
group commit off the response path, without waking the thread (see batch.py). Reads wait for what
this process queued before them (`settled`), so a receipt id handed out is readable at once, and
`close` commits everything queued.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import queue
import random
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from polyroute.audit.batch import FLUSH, KICK, LINGER_S, ContentRow, Pending, Written, answer, next_batch
from polyroute.audit.event import GENESIS_HASH, body_hash, fill_template, format_time
from polyroute.audit.signing import Signer
from polyroute.sqlitefile import is_busy

PURGE_EVERY_S = 3600.0
LOCK_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = LOCK_TIMEOUT_S + 10.0
Connect = Callable[[], sqlite3.Connection]
log = logging.getLogger("polyroute.audit")


class GroupCommitWriter:
    """The one thread that writes to one SQLite file from this process."""

    def __init__(self, connect: Connect, signer: Callable[[], Signer], *, retention_days: int | None) -> None:
        self._connect = connect
        self._signer = signer
        self._retention = retention_days
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._later: deque[Pending] = deque()  # queued by `enqueue`: taken by the next batch
        self._taken = 0  # how many times the side list was emptied (a timer armed before is moot)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._purged_at = 0.0
        self._progress = threading.Condition()
        self._queued = 0  # events handed to the thread, and (below) those it has answered
        self._finished = 0
        self._at_exit = False

    async def submit(self, template: str, event_id: str, content: ContentRow | None) -> Written:
        """Queue one event; returns (seq, canonical body, hash) once it is committed and signed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Written] = loop.create_future()
        self._put(Pending(template, event_id, content, loop, future))
        return await future

    def enqueue(self, template: str, event_id: str, content: ContentRow | None) -> None:
        """Queue one event for the next group commit and return at once (a failure is logged).

        The writer is not woken: the next batch takes it. The first event queued since the side list
        was last emptied arms a timer on the caller's event loop that wakes the writer if no batch
        has taken it within `LINGER_S` (no event loop: the writer is woken now).
        """
        with self._lock:
            self._start()
            with self._progress:
                self._queued += 1
            self._later.append(Pending(template, event_id, content, None, None))
            if len(self._later) > 1:
                return
            taken = self._taken
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._wake(KICK)
            return
        loop.call_later(LINGER_S, self._linger_over, taken)

    def _linger_over(self, taken: int) -> None:
        """The timer of queued events: wake the writer unless a batch took them meanwhile."""
        if self._taken == taken:
            self._wake(KICK)

    def _wake(self, marker: Pending) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(marker)

    def _take(self) -> list[Pending]:
        """The writer thread's side of `enqueue`: every queued event, oldest first."""
        with self._lock:
            later = self._later
            if not later:
                return []
            self._taken += 1
            self._later = deque()
            return list(later)

    def _start(self) -> None:
        """Start the thread if it is not running (with `_lock` held)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, args=(self._queue,), name="polyroute-audit-writer", daemon=True
            )
            self._thread.start()
            if not self._at_exit:  # a process that never closes its store still commits what it queued
                atexit.register(_close_at_exit, weakref.ref(self))
                self._at_exit = True

    def _put(self, pending: Pending) -> None:
        with self._lock:  # queue and thread change together in `close`, so nothing is stranded
            self._start()
            with self._progress:
                self._queued += 1
            self._queue.put(pending)

    def settled(self) -> None:
        """Block until every event queued so far has been committed (or has failed): read your writes."""
        with self._progress:
            target = self._queued
            if self._finished >= target:
                return
        self._wake(FLUSH)  # a reader is waiting: no lingering for more work
        with self._progress:
            self._progress.wait_for(lambda: self._finished >= target, timeout=SETTLE_TIMEOUT_S)

    def _done(self, count: int) -> None:
        with self._progress:
            self._finished += count
            self._progress.notify_all()

    def close(self) -> None:
        """Finish what is queued, then stop the thread and close its connection (blocking)."""
        with self._lock:
            thread, jobs = self._thread, self._queue
            self._thread, self._queue = None, queue.SimpleQueue()
            if thread is not None:
                jobs.put(None)
        if thread is not None:
            thread.join()

    def _run(self, jobs: queue.SimpleQueue[Pending | None]) -> None:
        """The writer thread: batches from its own queue, its own connection, until told to stop."""
        db: sqlite3.Connection | None = None
        try:
            while (batch := next_batch(jobs, self._take)) is not None:
                try:
                    db = self._batch(db, batch)
                finally:
                    self._done(len(batch))
        finally:
            if db is not None:
                db.close()

    def _batch(self, db: sqlite3.Connection | None, batch: list[Pending]) -> sqlite3.Connection | None:
        """Commit one batch and answer its callers; the connection to use next (None: a fresh one)."""
        if db is None:
            try:
                db = self._connect()
            except BaseException as error:  # noqa: BLE001 - the callers must hear about it
                answer(batch, None, error)
                return None
        if not self._commit_and_answer(db, batch):
            db.close()
            return None
        return db

    def _commit_and_answer(self, db: sqlite3.Connection, batch: list[Pending]) -> bool:
        try:
            results = self._commit(db, batch)
        except BaseException as error:  # noqa: BLE001 - every waiting caller must hear about it
            answer(batch, None, error)
            return False
        answer(batch, results, None)
        return True

    def _commit(self, db: sqlite3.Connection, batch: list[Pending]) -> list[Written]:
        """One transaction for the batch, retried whole while another process holds a lock.

        Beyond `BEGIN IMMEDIATE`, a WAL read lock or the commit itself can be briefly busy while
        another process checkpoints or resets the WAL; the head is re-read inside each try, so a
        retry can neither fork nor gap the chain.
        """
        signer = self._signer()
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                _begin_immediate(db, deadline)
                try:
                    results = self._insert(db, signer, batch)
                    self._maybe_purge(db)
                    db.execute("COMMIT")
                    return results
                finally:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
            except sqlite3.OperationalError as error:
                if not is_busy(error) or time.monotonic() > deadline:
                    raise
            _pause()

    def _insert(self, db: sqlite3.Connection, signer: Signer, batch: list[Pending]) -> list[Written]:
        row = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
        stamp = format_time(datetime.now(UTC))
        rows: list[tuple[int, str, str]] = []
        contents: list[tuple[str, str, str | None, str | None]] = []
        for pending in batch:
            seq += 1
            body = fill_template(pending.template, seq, stamp, prev)
            prev = body_hash(body)
            rows.append((seq, prev, body))
            if pending.content is not None:
                contents.append((pending.event_id, stamp, pending.content.prompt, pending.content.completion))
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

    def _maybe_purge(self, db: sqlite3.Connection) -> None:
        """Drop stored content past its retention; the chain holds digests only, so it stays intact."""
        due = not self._purged_at or time.monotonic() - self._purged_at >= PURGE_EVERY_S
        if self._retention is None or not due:
            return
        self._purged_at = time.monotonic()
        cutoff = format_time(datetime.now(UTC) - timedelta(days=self._retention))
        db.execute("DELETE FROM content WHERE stored_at < ?", (cutoff,))


def _close_at_exit(writer: weakref.ref[GroupCommitWriter]) -> None:
    alive = writer()
    if alive is not None:
        alive.close()


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


def open_path(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, usually 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
