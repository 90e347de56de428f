"""Group commit for the SQLite store: one writer thread, one transaction and one signature per batch.

Appends from any number of tasks (and event loops) queue up while the previous batch commits; the
thread then takes everything waiting and commits it in one transaction (transaction.py): an append
returns only once its event is durable and covered by a signed head. A lone routed call's intent is
instead journaled (`write_ahead`, by the journal process: ahead.py) and chained by the next batch.

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
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Callable, Generator
from pathlib import Path

from polyroute.audit import journal, transaction
from polyroute.audit.ahead import JournalProcess, JournalProcessFailed, JournalWrite
from polyroute.audit.batch import (
    FLUSH,
    KICK,
    LINGER_S,
    LONE_LINGER_S,
    ContentRow,
    Pending,
    Written,
    answer,
    next_batch,
)
from polyroute.audit.retention import Retention
from polyroute.audit.signing import Signer

SETTLE_TIMEOUT_S = transaction.LOCK_TIMEOUT_S + 10.0
Connect = Callable[[], sqlite3.Connection]
log = logging.getLogger("polyroute.audit")


class GroupCommitWriter:
    """The one thread that writes to one SQLite file from this process."""

    def __init__(
        self, connect: Connect, signer: Callable[[], Signer], *, retention_days: int | None, path: Path
    ) -> None:
        self._connect = connect
        self._signer = signer
        self._retention = Retention(retention_days)
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._later: deque[Pending] = deque()  # queued by `enqueue`: taken by the next batch
        self._taken = 0  # how many times the side list was emptied (a timer armed before is moot)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None  # the writer's connection, used by one batch at a time
        self._committing = threading.Lock()  # held while the connection is in use (a batch, a journal row)
        self._journal = JournalProcess(path)  # writes lone calls' intents (ahead.py)
        self._sent: JournalWrite | None = None  # the journal row on its way, if any
        self._progress = threading.Condition()
        self._queued = 0  # events handed to the thread, and (below) those it has answered
        self._finished = 0
        self._at_exit = False

    async def submit(
        self, template: str, event_id: str, content: ContentRow | None, *, intent_of: str | None = None
    ) -> Written:
        """Queue one event; returns (seq, canonical body, hash) once it is committed and signed.
        `intent_of`: the template holds `INTENT_SEQ` for the seq of that intent (see transaction.py)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Written] = loop.create_future()
        self._put(Pending(template, event_id, content, loop, future, intent_of))
        return await future

    def write_ahead(self, template: str, event_id: str) -> JournalWrite | None:
        """Send an intent's journal row to the journal process (ahead.py) and return at once; the
        row's `settled()` says when it is durable. The connection stays reserved until then, and the
        next batch chains the row (queued like an outcome: see `enqueue`); reads wait for that. None
        when that is not possible at once — a batch is committing, there is no connection yet, or
        the journal process is not up — and the caller then `submit`s it."""
        if not self._committing.acquire(blocking=False):
            return None
        try:
            if self._db is None or not self._journal.usable():  # the schema is migrated by then
                self._committing.release()
                return None
            self._journal.send(journal.entry(template, event_id))
            self._sent = job = JournalWrite(self._journal, self._journaled)
        except JournalProcessFailed:
            self._committing.release()  # the row never left: the caller takes the group commit
            return None
        except BaseException:  # interrupted: a row may be on its way that nobody will ask about
            self._journal.abandon()
            self._committing.release()
            raise
        self._later_put(Pending("", event_id, None, None, None, journaled=True), lone=True)
        return job

    def start_journal(self, timeout: float) -> bool:
        """Start the journal process and wait until it takes rows (blocking; a connection must be open):
        lone calls' intents use it from then on, not only from the call after the one that started it."""
        with self._reserved():
            return self._db is not None and self._journal.usable(wait=timeout)

    def _journaled(self) -> None:
        """A row's answer is in (on the thread that read it): the connection is free again."""
        self._sent = None
        self._committing.release()

    @contextlib.contextmanager
    def _reserved(self) -> Generator[None]:
        """The connection, held (for a batch, or to close it); a journal row still on its way is
        answered first, by this thread if nobody else reads it (a batch chains only written rows)."""
        while not self._committing.acquire(timeout=0.05):
            sent = self._sent
            if sent is not None:
                sent.settled()
        try:
            yield
        finally:
            self._committing.release()

    def enqueue(
        self,
        template: str,
        event_id: str,
        content: ContentRow | None,
        *,
        intent_of: str | None = None,
        lone: bool = False,
    ) -> None:
        """Queue one event for the next group commit and return at once (a failure is logged).

        The writer is not woken: the next batch takes it. The first event queued since the side list
        was last emptied arms a timer on the caller's event loop that wakes the writer if no batch
        has taken it within `LINGER_S` (`LONE_LINGER_S` if `lone`: a lone call's outcome; no event
        loop: the writer is woken now).
        """
        self._later_put(Pending(template, event_id, content, None, None, intent_of), lone=lone)

    def _later_put(self, pending: Pending, *, lone: bool) -> None:
        with self._lock:
            self._start()
            with self._progress:
                self._queued += 1
            self._later.append(pending)
            if len(self._later) > 1:
                return
            taken = self._taken
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._wake(KICK)
            return
        loop.call_later(LONE_LINGER_S if lone else LINGER_S, self._linger_over, taken)

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

    def chain_journal(self) -> None:
        """Chain what the journal holds (intents of a process that died, say), blocking: a failure
        is logged, and the journal waits for the next commit."""
        self._put(Pending("", "", None, None, None, journaled=True))
        self.settled()

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
        """Finish what is queued, then stop the thread, the journal process and the connection
        (blocking)."""
        with self._lock:
            thread, jobs = self._thread, self._queue
            self._thread, self._queue = None, queue.SimpleQueue()
            if thread is not None:
                jobs.put(None)
        if thread is not None:
            thread.join()
        with self._reserved():
            self._reset()
            self._journal.close()

    def _reset(self) -> None:
        """Close the connection (with `_committing` held): the next batch opens a fresh one."""
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def _run(self, jobs: queue.SimpleQueue[Pending | None]) -> None:
        """The writer thread: batches from its own queue until told to stop."""
        while (batch := next_batch(jobs, self._take)) is not None:
            try:
                with self._reserved():  # released before the answers: a woken caller finds it free
                    results, error = self._batch(batch)
                answer(batch, results, error)
            finally:
                self._done(len(batch))

    def _batch(self, batch: list[Pending]) -> tuple[list[Written] | None, BaseException | None]:
        """Commit one batch (with `_committing` held): its results, or the error every caller must
        hear, after which the connection is reset so the next batch starts on a fresh one."""
        try:
            if self._db is None:
                self._db = self._connect()
            return self._commit(self._db, batch), None
        except BaseException as error:  # noqa: BLE001 - every waiting caller must hear about it
            self._reset()
            return None, error

    def _commit(self, db: sqlite3.Connection, batch: list[Pending]) -> list[Written]:
        """`transaction.commit` of the batch, with the hourly purge when it is due."""
        return transaction.commit(db, self._signer(), batch, purge_before=self._retention.take())


def _close_at_exit(writer: weakref.ref[GroupCommitWriter]) -> None:
    alive = writer()
    if alive is not None:
        alive.close()


def open_path(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, usually 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
