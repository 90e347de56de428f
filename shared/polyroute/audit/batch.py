"""What the group-commit writer thread takes from its queue, and how it gathers one batch.

A batch is everything waiting, up to `MAX_BATCH`. A batch of queued-only work (a routed call's
outcome, which nobody waits for) lingers up to `LINGER_S` for an append that someone does wait for —
typically the next call's intent — so that both share one commit: in a sequential stream of calls the
outcome then costs no fsync of its own ahead of the next intent. A reader that needs the queued work
(`FLUSH`) or a stop (`None`) ends the lingering at once.
"""

from __future__ import annotations

import asyncio
import queue
import time
from dataclasses import dataclass

MAX_BATCH = 1000
LINGER_S = 0.005


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
    future: asyncio.Future[tuple[str, str]] | None


FLUSH = Pending("", "", None, None, None)
"""Not an event: tells a lingering batch to commit now (someone is reading)."""

Jobs = queue.SimpleQueue[Pending | None]


def _drain(jobs: Jobs, batch: list[Pending]) -> bool:
    """Add whatever is waiting (up to MAX_BATCH); True when told to stop lingering."""
    while len(batch) < MAX_BATCH:
        try:
            item = jobs.get_nowait()
        except queue.Empty:
            return False
        if item is None:
            jobs.put(None)  # stop after this batch
            return True
        if item is FLUSH:
            return True
        batch.append(item)
    return True


def _first(jobs: Jobs) -> Pending | None:
    while (item := jobs.get()) is FLUSH:
        continue
    return item


def next_batch(jobs: Jobs) -> list[Pending] | None:
    """Everything waiting (up to MAX_BATCH), blocking for the first; None once told to stop."""
    first = _first(jobs)
    if first is None:
        return None
    batch = [first]
    stop = _drain(jobs, batch)
    deadline = time.monotonic() + LINGER_S
    while not stop and len(batch) < MAX_BATCH and all(p.future is None for p in batch):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            item = jobs.get(timeout=remaining)
        except queue.Empty:
            break
        if item is None:
            jobs.put(None)
            break
        if item is FLUSH:
            break
        batch.append(item)
        stop = _drain(jobs, batch)
    return batch
