"""Group commit for the PostgreSQL store: one transaction and one signature per batch, many replicas.

Appends from the tasks of one event loop queue up while the previous batch commits; one committer
task then takes everything waiting and, in one transaction, takes the chain's advisory lock (so
appends from every replica on the database are serialised there, not in any process), reads the
head, inserts the events, signs the new head and commits. An append returns only once the commit is
acknowledged, so its event is durable (with the server's `synchronous_commit`) and signed.

A dropped connection is retried on a fresh one. The retry first looks the batch's event ids up: if
the lost commit did land, its events are answered from the database and nothing is written twice;
if it did not, the batch is written then, after the head as it is now, so there is no gap either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from polyroute.audit.batch import MAX_BATCH, ContentRow, Written
from polyroute.audit.event import GENESIS_HASH, chained, format_time
from polyroute.audit.retention import Retention
from polyroute.audit.signing import Signer

CHAIN_LOCK = 0x706F6C79_61756474  # pg_advisory_xact_lock key of the audit chain ("polyaudt")
RETRY_FOR_S = 10.0
log = logging.getLogger("polyroute.audit")
Queued = tuple[str, str, ContentRow | None]  # body template, event id, text to keep


@dataclass(frozen=True)
class PgPending:
    template: str
    event_id: str
    content: ContentRow | None
    future: asyncio.Future[Written]


@dataclass
class LoopWriter:
    """The queue and committer task of one event loop (a store may be used from several)."""

    pool: AsyncConnectionPool[Any]
    pending: list[PgPending] = field(default_factory=list[PgPending])
    task: asyncio.Task[None] | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Later:
    """Appends queued by `append_later` on one event loop, and the task committing them in order."""

    items: list[Queued] = field(default_factory=list[Queued])
    task: asyncio.Task[None] | None = None

    async def settled(self) -> None:
        """Wait until everything queued so far is committed (or failed): read your writes."""
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)


def _log_lost(event_ids: list[str], error: BaseException | None) -> None:
    for event_id in event_ids:
        log.error("audit: a queued event %s was not recorded: %s", event_id, error)


class PgCommitter:
    """Commits batches for one store; `retention_days` purges stored content as SQLite's writer does."""

    def __init__(self, signer: Callable[[], Awaitable[Signer]], *, retention_days: int | None) -> None:
        self._signer = signer
        self._retention = Retention(retention_days)

    async def submit(
        self, state: LoopWriter, template: str, event_id: str, content: ContentRow | None
    ) -> Written:
        return await asyncio.shield(self.enqueue(state, template, event_id, content))

    def enqueue(
        self, state: LoopWriter, template: str, event_id: str, content: ContentRow | None
    ) -> asyncio.Future[Written]:
        """Queue one event for the next batch; the future is its (canonical body, hash)."""
        future: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        state.pending.append(PgPending(template, event_id, content, future))
        if state.task is None or state.task.done():
            # not the caller's task: a caller cancelled mid-commit must not stop the others' commit
            state.task = asyncio.get_running_loop().create_task(self._drain(state))
        return future

    async def commit_later(self, later: Later, writer: Callable[[], Awaitable[LoopWriter]]) -> None:
        """The task that commits what `append_later` queued on one loop, in order; nobody waits for
        these appends, so a failure is logged (the intent stays in the log, its outcome unknown)."""
        while later.items:
            items, later.items = later.items, []
            try:
                state = await writer()
            except Exception as error:  # noqa: BLE001 - logged per event below
                _log_lost([event_id for _, event_id, _ in items], error)
                continue
            futures = [self.enqueue(state, *item) for item in items]
            await asyncio.wait(futures)  # not `gather`: cancelling this task must not cancel them
            for (_, event_id, _), future in zip(items, futures, strict=True):
                if future.exception() is not None:
                    _log_lost([event_id], future.exception())

    async def _drain(self, state: LoopWriter) -> None:
        while state.pending:
            batch, state.pending = state.pending[:MAX_BATCH], state.pending[MAX_BATCH:]
            try:
                results = await self._commit_retrying(state.pool, batch)
            except BaseException as error:  # noqa: BLE001 - every waiting caller must hear about it
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)

    async def _commit_retrying(self, pool: AsyncConnectionPool[Any], batch: list[PgPending]) -> list[Written]:
        signer = await self._signer()
        deadline = time.monotonic() + RETRY_FOR_S
        retry = False
        while True:
            try:
                async with pool.connection() as db:
                    return await self._commit(db, signer, batch, retry=retry)
            except psycopg.OperationalError:  # connection lost, server restarting: unknown outcome
                if time.monotonic() > deadline:
                    raise
            retry = True
            await asyncio.sleep(0.05)
            with contextlib.suppress(psycopg.Error):
                await pool.check()  # a failover drops every idle connection: drop them all at once

    async def _commit(
        self, db: psycopg.AsyncConnection[Any], signer: Signer, batch: list[PgPending], *, retry: bool
    ) -> list[Written]:
        """Three round trips: BEGIN and the head read under the chain lock; every insert; COMMIT."""
        try:
            cursor = await db.execute(b"BEGIN; SELECT * FROM polyroute_chain_head()")
            while cursor.description is None and cursor.nextset():
                pass
            head = await cursor.fetchone()
            if retry:  # only a retry can find its batch already committed
                done = await self._already_committed(db, batch)
                if done is not None:
                    await db.execute("COMMIT")
                    return done
            results = await self._insert(db, signer, batch, head)
            await self._maybe_purge(db)
            await db.execute("COMMIT")
            return results
        except BaseException:
            if not db.closed and db.info.transaction_status != TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    await db.execute("ROLLBACK")
            raise

    async def _already_committed(
        self, db: psycopg.AsyncConnection[Any], batch: list[PgPending]
    ) -> list[Written] | None:
        """The stored (body, hash) of a batch whose commit landed before its connection was lost."""
        ids = [pending.event_id for pending in batch]
        cursor = await db.execute("SELECT id, seq, body, hash FROM events WHERE id = ANY(%s)", (ids,))
        found: dict[str, Written] = {row[0]: (int(row[1]), row[2], row[3]) for row in await cursor.fetchall()}
        if not found:
            return None
        if len(found) != len(ids):  # one transaction per batch: all or nothing, never part
            raise psycopg.DataError("part of an append batch is already in the log")
        return [found[event_id] for event_id in ids]

    async def _insert(
        self, db: psycopg.AsyncConnection[Any], signer: Signer, batch: list[PgPending], row: Any
    ) -> list[Written]:
        seq, prev = (int(row[0]), str(row[1])) if row and row[0] is not None else (0, GENESIS_HASH)
        stamp = format_time(datetime.now(UTC))
        rows = chained([(pending.template, stamp) for pending in batch], seq, prev)
        seq, prev = rows[-1][0], rows[-1][1]
        kept = [(p.event_id, p.content.prompt, p.content.completion) for p in batch if p.content is not None]
        signature = signer.sign_stamped(seq, prev, stamp)
        # arrays as binary parameters (%b): text arrays of 1 KB bodies cost milliseconds to escape
        await db.execute(
            "SELECT polyroute_append(%b, %b, %b, %b, %s, %b, %b, %s, %s, %s, %s, %s)",
            (
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                [k[0] for k in kept], stamp, [k[1] for k in kept], [k[2] for k in kept],
                seq, prev, signer.key_id, stamp, signature,
            ),
        )  # fmt: skip
        return [(seq_, body, hash_) for seq_, hash_, body in rows]

    async def _maybe_purge(self, db: psycopg.AsyncConnection[Any]) -> None:
        """Drop stored content past its retention; the chain holds digests only, so it stays intact."""
        cutoff = self._retention.take()
        if cutoff is not None:
            await db.execute("DELETE FROM content WHERE stored_at < %s", (cutoff,))
