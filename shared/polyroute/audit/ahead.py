"""A lone routed call's intent on its way into the journal (journal.py), written on a thread of its own
while the call builds its provider request.

The journal row costs one fsync, ~0.2–0.3 ms of waiting inside a call here; the SDK's work before it
sends takes about as long. The event loop hands the row to the journal thread, waits only until that
thread is running the one statement (SQLite then holds no Python lock until the fsync is done), and
goes on; the request leaves once the row is settled (`Journaling` is what sendgate.py waits for).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable

from polyroute.audit import journal
from polyroute.errors import PolyrouteError
from polyroute.sqlitefile import is_busy

Finish = Callable[[BaseException | None], None]
"""Told how a row ended, on the journal thread, before anyone waiting hears of it."""
Jobs = queue.SimpleQueue["tuple[JournalWrite, sqlite3.Connection, Finish] | None"]


class JournalWrite:
    """One intent's journal row, written by the journal thread."""

    def __init__(self, template: str, event_id: str) -> None:
        self.template = template
        self.event_id = event_id
        self._started = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None

    def run(self, db: sqlite3.Connection, finish: Finish) -> None:
        """On the journal thread: time the row, let the caller go on, write it."""
        try:
            row = journal.entry(self.template, self.event_id)
            self._started.set()
            journal.write(db, row)
        except BaseException as error:  # noqa: BLE001 - the caller hears of it from `settled`
            self._error = error
        finally:
            self._started.set()
            try:
                finish(self._error)
            finally:
                self._done.set()

    def running(self) -> None:
        """Block until the journal thread has taken it (it is then in SQLite, or done)."""
        self._started.wait()

    def settled(self) -> BaseException | None:
        """Block until the row is durable (None) or was refused (the error)."""
        self._done.wait()
        return self._error

    def busy(self) -> bool:
        """Refused because another process held the write lock (the group commit waits for it)."""
        return isinstance(self._error, sqlite3.OperationalError) and is_busy(self._error)


class JournalThread:
    """The thread that writes journal rows, started on first use."""

    def __init__(self) -> None:
        self._jobs: Jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def write(self, job: JournalWrite, db: sqlite3.Connection, finish: Finish) -> None:
        """Hand `job` over (`job.running()` then waits until the thread has taken it)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._jobs,), name="polyroute-audit-journal", daemon=True
                )
                self._thread.start()
            self._jobs.put((job, db, finish))

    @staticmethod
    def _run(jobs: Jobs) -> None:
        while (item := jobs.get()) is not None:
            job, db, finish = item
            job.run(db, finish)

    def close(self) -> None:
        """Finish the row being written, then stop (blocking)."""
        with self._lock:
            thread, jobs = self._thread, self._jobs
            self._thread, self._jobs = None, queue.SimpleQueue()
            if thread is not None:
                jobs.put(None)
        if thread is not None:
            thread.join()


class Journaling:
    """Whether one journaled intent is durable (a `sendgate.Durability`): once its row is; if another
    process held the write lock, once the group commit has chained it instead (`fallback`); else never,
    and `wait` raises what the store makes of the error (`failed`)."""

    def __init__(
        self,
        job: JournalWrite,
        fallback: Callable[[], Awaitable[object]],
        failed: Callable[[BaseException], PolyrouteError],
    ) -> None:
        self._job = job
        self._fallback = fallback
        self._failed = failed
        self._durable = False
        self._lost: PolyrouteError | None = None
        self._chaining: asyncio.Future[object] | None = None

    async def wait(self) -> None:
        if self._durable:
            return
        if self._lost is not None:
            raise self._lost
        if self._chaining is None:
            # Blocks the event loop for what is left of one fsync: the call is alone (no other routed
            # call in flight), and the loop used to wait for all of it.
            error = self._job.settled()
            if error is None:
                self._durable = True
                return
            if not self._job.busy():
                self._lost = self._failed(error)
                raise self._lost
            self._chaining = asyncio.ensure_future(self._fallback())
        try:
            await asyncio.shield(self._chaining)  # a caller that gives up leaves it chaining
        except PolyrouteError as error:
            self._lost = error
            raise
        self._durable = True

    def failure(self) -> PolyrouteError | None:
        return self._lost
