"""What the group-commit writer thread takes from its queue, and how it gathers one batch.

Two inputs feed a batch. Appends someone waits for (concurrent routed calls' intents) go through the
thread's queue, which wakes it. Appends nobody waits for go into a side list that does *not* wake it:
a routed call's outcome, and the marker of an intent a lone call journaled (journal.py). They ride
along with the next batch, so in a sequential stream of calls one chained commit, off every call's
path, covers the intents and outcomes of several calls. The enqueuing event loop arms a timer
(`LINGER_S`, or `LONE_LINGER_S` for a lone call's) that wakes the thread with `KICK` if no batch took
them meanwhile; a reader that needs the queued work (`FLUSH`) or a stop (`None`) wakes it at once. A
crash meanwhile loses no intent (the journal is durable), only outcomes not yet committed: their
intents then read "outcome unknown".
A batch is the whole side list (older appends first) and what waits on the queue, up to `MAX_BATCH`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass

MAX_BATCH = 1000
LINGER_S = 0.005
LONE_LINGER_S = 0.05
"""For what a lone call left (its journaled intent, its outcome): one chained commit then covers
~5–20 sequential calls. Concurrent calls keep 5 ms: 50 ms for every outcome cost 16 clients over HTTP
+5 ms at p50 and +10 ms at p99 (bench_load, alternating runs; the cause is not understood)."""
log = logging.getLogger("polyroute.audit")


Written = tuple[int, str, str]
"""What the writer answers for one committed event: its seq, canonical body and hash."""


@dataclass(frozen=True)
class ContentRow:
    prompt: str | None
    completion: str | None


@dataclass(frozen=True)
class Pending:
    """One append waiting for the writer: its body template (see `body_template`) and id."""

    template: str
    event_id: str
    content: ContentRow | None
    loop: asyncio.AbstractEventLoop | None  # None: queued by `enqueue`, nobody waits for it
    future: asyncio.Future[Written] | None
    intent_of: str | None = None  # an outcome whose `intent_seq` the commit fills in (`INTENT_SEQ`)
    journaled: bool = False  # not an event: its intent waits in the journal, for this batch to chain


FLUSH = Pending("", "", None, None, None)
"""Not an event: wakes the writer to commit what is queued now (someone is reading)."""
KICK = Pending("", "", None, None, None)
"""Not an event: the linger timer of queued appends ran out before a batch took them."""

Jobs = queue.SimpleQueue[Pending | None]
Take = Callable[[], list[Pending]]
"""Takes every append from the side list (queued without waking the writer), oldest first."""


def _drain(jobs: Jobs, batch: list[Pending]) -> None:
    """Add whatever is waiting on the queue (up to MAX_BATCH) without blocking."""
    while len(batch) < MAX_BATCH:
        try:
            item = jobs.get_nowait()
        except queue.Empty:
            return
        if item is None:
            jobs.put(None)  # stop after this batch
            return
        if item is not FLUSH and item is not KICK:
            batch.append(item)


def next_batch(jobs: Jobs, take: Take) -> list[Pending] | None:
    """Everything waiting, blocking until something is; None once told to stop and nothing is left
    (the side list is committed before stopping)."""
    while True:
        item = jobs.get()
        batch = take()
        if item is None:
            if batch:
                jobs.put(None)
                return batch
            return None
        if item is not FLUSH and item is not KICK:
            batch.append(item)
        _drain(jobs, batch)
        if batch:
            return batch


Answer = tuple[asyncio.Future[Written], Written | None, BaseException | None]


def _resolve(answers: list[Answer]) -> None:
    """Runs on the caller's event loop: settle every future of one batch that belongs to it."""
    for future, value, error in answers:
        if future.done():  # the caller was cancelled; the event may still have been committed
            continue
        if error is not None:
            future.set_exception(error)
        else:
            assert value is not None
            future.set_result(value)


def answer(batch: list[Pending], results: list[Written] | None, error: BaseException | None) -> None:
    """Wake each caller's event loop once (not once per append) with the answers that belong to it."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for index, pending in enumerate(batch):
        if pending.loop is None or pending.future is None:
            if error is not None and pending.journaled:  # durable in the journal: the next commit retries
                log.error("audit: journaled intents not chained yet (kept for the next commit): %s", error)
            elif error is not None:  # the caller has its answer already; the intent stays, outcome unknown
                log.error("audit: a queued event %s was not recorded: %s", pending.event_id, error)
            continue
        by_loop.setdefault(pending.loop, []).append(
            (pending.future, results[index] if results else None, error)
        )
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that event loop may be gone
            loop.call_soon_threadsafe(_resolve, answers)
