"""A lone routed call's intent on its way into the journal (journal.py), written by the journal process
(journald.py) while the call builds its provider request.

The journal row costs one fsync, ~0.2–0.3 ms of waiting inside a call here, and the SDK's work before
it sends takes about as long; only sending must wait for the row (sendgate.py). A thread cannot take
the fsync off the event loop's path: it needs the interpreter lock to start, and the loop holds it
while it builds the request (handing a row to a thread and waiting until it was in SQLite cost ~0.15
ms of the ~0.3 here). The journal process has its own: the loop sends it the row (one pipe write) and
goes on, and reads its one-byte answer where the request leaves.

The writer's connection stays reserved (`_committing`, writer.py) from sending a row to reading its
answer, so a batch never chains while a row is on its way, and the process's rows and group commits
never meet on the write lock. POSIX only (the answer is awaited with `poll`), and only where
`sys.executable` is a Python interpreter; elsewhere, and until the process is up, lone calls take the
group commit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import sqlite3
import struct
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from polyroute.audit.journal import Entry
from polyroute.errors import PolyrouteError

JOURNALD = Path(__file__).with_name("journald.py")
ANSWER_TIMEOUT_S = 30.0
"""A journal process that has not answered by then is taken for hung: killed, the intent lost."""
HEADER = struct.Struct(">4I")
log = logging.getLogger("polyroute.audit")

Finish = Callable[[], None]
"""Told, on the thread that read it, that a row's answer is in (before anyone waiting hears of it)."""


def _can_run_python() -> bool:
    """Whether `sys.executable` can run journald.py: POSIX (the answers are awaited with poll), and a
    Python interpreter (not a bundled app, nor a server embedding Python, such as uWSGI)."""
    return (
        os.name == "posix"
        and not getattr(sys, "frozen", False)
        and Path(sys.executable or "-").name.lower().startswith(("python", "pypy"))
    )


class JournalBusy(Exception):
    """Another connection held the write lock: nothing was written (the group commit chains it)."""


class JournalProcessFailed(Exception):
    """The journal process ended, or did not answer in time: whether the row was written is unknown."""


class JournalProcess:
    """The journal process of one database file: started on first use, and again after it failed.
    Its caller keeps one row at a time on its way (the writer's `_committing`)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._child: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._unavailable = not _can_run_python()
        self._owner = os.getpid()  # a forked child must not share this one's pipes

    def usable(self, wait: float = 0.0) -> bool:
        """Whether a row can be sent now, after waiting up to `wait` seconds for the process to say it
        is connected. Starts the process when there is none (rows take the group commit until then)."""
        if self._unavailable:
            return False
        if self._owner != os.getpid():  # forked: the pipes are the parent's, leave them to it
            self._child, self._ready, self._owner = None, False, os.getpid()
        if self._child is None:
            self._start()
        if not self._ready and self._answered(wait):
            self._hello()
        return self._ready

    def _hello(self) -> None:
        """Read its first answer: connected, or it ended (then no journal process for this store)."""
        self._ready = self._read(1) == b"r"
        if not self._ready:
            self._stop(kill=True)
            self._unavailable = True
            log.warning("the journal process of %s did not start: lone calls' intents take the group commit",
                        self._path)  # fmt: skip

    def send(self, row: Entry) -> None:
        """Hand one row over (a pipe write, far below the pipe's buffer); raises JournalProcessFailed
        when the process is gone (nothing was written)."""
        child = self._child
        assert child is not None and child.stdin is not None and self._ready
        data = [field.encode("utf-8", "surrogatepass") for field in row]
        message = memoryview(HEADER.pack(*map(len, data)) + b"".join(data))
        try:
            while message:
                message = message[os.write(child.stdin.fileno(), message) :]
        except OSError as error:
            self._stop(kill=True)
            raise JournalProcessFailed(f"the journal process is gone ({error})") from None
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Kill it: a row may be on its way whose answer nobody will read, and the next row must not
        read that answer for its own."""
        self._stop(kill=True)

    def answer(self) -> BaseException | None:
        """Block until the process answers the row sent last: None once it is durable, else why not."""
        try:
            if not self._answered(ANSWER_TIMEOUT_S):
                raise JournalProcessFailed(f"the journal process did not answer in {ANSWER_TIMEOUT_S:.0f} s")
            kind = self._read(1)
            if kind == b"k":
                return None
            if kind == b"b":
                return JournalBusy()
            if kind == b"e":
                (size,) = struct.unpack(">H", self._read(2))
                message = self._read(size).decode("utf-8", "replace")
                self._stop(kill=True)  # its connection may be broken: the next row gets a fresh process
                return sqlite3.OperationalError(message)
            raise JournalProcessFailed("the journal process ended")
        except (JournalProcessFailed, OSError, struct.error) as error:
            self._stop(kill=True)
            return error if isinstance(error, JournalProcessFailed) else JournalProcessFailed(str(error))
        except BaseException:  # interrupted while waiting: its answer would be read for the next row
            self.abandon()
            raise

    def close(self) -> None:
        """Let the process finish (it stops at the end of its input); blocking, briefly."""
        self._stop(kill=False)

    def _start(self) -> None:
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", str(JOURNALD), str(self._path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                start_new_session=True,  # a terminal's signals are for the parent; it ends with its input
            )  # fmt: skip
        except OSError as error:
            log.warning("no journal process (%s): lone calls' intents take the group commit", error)
            self._unavailable = True

    def _answered(self, timeout: float) -> bool:
        child = self._child
        if child is None or child.stdout is None:
            return False
        waiting = select.poll()  # not select(): a busy server's descriptors go past 1024
        waiting.register(child.stdout.fileno(), select.POLLIN)
        return bool(waiting.poll(timeout * 1000))

    def _read(self, size: int) -> bytes:
        """`size` bytes of its answers, fewer if it ended."""
        child = self._child
        assert child is not None and child.stdout is not None
        chunks: list[bytes] = []
        while size and (chunk := os.read(child.stdout.fileno(), size)):
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _stop(self, *, kill: bool) -> None:
        child, self._child, self._ready = self._child, None, False
        if child is None:
            return
        if kill:
            child.kill()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


class JournalWrite:
    """One intent's row, sent to the journal process. Its answer is read once, by whoever asks first:
    the call where its request leaves, or the writer thread before its next batch."""

    def __init__(self, process: JournalProcess, finish: Finish) -> None:
        self._process = process
        self._finish = finish
        self._lock = threading.Lock()
        self._settled = False
        self._error: BaseException | None = None

    def settled(self) -> BaseException | None:
        """Block until the row is durable (None) or was not written (why)."""
        with self._lock:
            if not self._settled:
                self._error = JournalProcessFailed("interrupted while waiting for the journal process")
                try:
                    self._error = self._process.answer()
                finally:
                    self._settled = True
                    self._finish()
        return self._error

    def busy(self) -> bool:
        """Refused because another connection held the write lock (nothing was written)."""
        return isinstance(self._error, JournalBusy)


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
            # Blocks the event loop for what is left of one fsync, usually nothing: the call is alone
            # (no other routed call in flight), and the row was written while it built its request.
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
        except Exception as error:  # noqa: BLE001 - whatever failed the append, the intent is lost
            self._lost = self._failed(error)
            raise self._lost from None
        self._durable = True

    def failure(self) -> PolyrouteError | None:
        return self._lost
