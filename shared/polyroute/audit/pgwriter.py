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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from polyroute.audit.event import GENESIS_HASH, body_hash, fill_template, format_time
from polyroute.audit.signing import Signer
from polyroute.audit.writer import MAX_BATCH, PURGE_EVERY_S, ContentRow

CHAIN_LOCK = 0x706F6C79_61756474  # pg_advisory_xact_lock key of the audit chain ("polyaudt")
RETRY_FOR_S = 10.0


@dataclass(frozen=True)
class PgPending:
    template: str
    event_id: str
    content: ContentRow | None
    future: asyncio.Future[tuple[str, str]]


@dataclass
class LoopWriter:
    """The queue and committer task of one event loop (a store may be used from several)."""

    pool: AsyncConnectionPool[Any]
    pending: list[PgPending] = field(default_factory=list[PgPending])
    task: asyncio.Task[None] | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)


class PgCommitter:
    """Commits batches for one store; `retention_days` purges stored content as SQLite's writer does."""

    def __init__(self, signer: Callable[[], Awaitable[Signer]], *, retention_days: int | None) -> None:
        self._signer = signer
        self._retention = retention_days
        self._purged_at = 0.0

    async def submit(self, state: LoopWriter, template: str, event_id: str, content: ContentRow | None) -> tuple[str, str]:
        future: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        state.pending.append(PgPending(template, event_id, content, future))
        if state.task is None or state.task.done():
            # not the caller's task: a caller cancelled mid-commit must not stop the others' commit
            state.task = asyncio.get_running_loop().create_task(self._drain(state))
        return await asyncio.shield(future)

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

    async def _commit_retrying(self, pool: AsyncConnectionPool[Any], batch: list[PgPending]) -> list[tuple[str, str]]:
        signer = await self._signer()
        deadline = time.monotonic() + RETRY_FOR_S
        while True:
            try:
                async with pool.connection() as db:
                    return await self._commit(db, signer, batch)
            except psycopg.OperationalError:  # connection lost, server restarting: unknown outcome
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.05)

    async def _commit(
        self, db: psycopg.AsyncConnection[Any], signer: Signer, batch: list[PgPending]
    ) -> list[tuple[str, str]]:
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK,))
            done = await self._already_committed(db, batch)
            if done is not None:
                return done
            results = await self._insert(db, signer, batch)
            await self._maybe_purge(db)
        return results

    async def _already_committed(
        self, db: psycopg.AsyncConnection[Any], batch: list[PgPending]
    ) -> list[tuple[str, str]] | None:
        """The stored (body, hash) of a batch whose commit landed before its connection was lost."""
        ids = [pending.event_id for pending in batch]
        cursor = await db.execute("SELECT id, body, hash FROM events WHERE id = ANY(%s)", (ids,))
        found = {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}
        if not found:
            return None
        if len(found) != len(ids):  # one transaction per batch: all or nothing, never part
            raise psycopg.DataError("part of an append batch is already in the log")
        return [found[event_id] for event_id in ids]

    async def _insert(
        self, db: psycopg.AsyncConnection[Any], signer: Signer, batch: list[PgPending]
    ) -> list[tuple[str, str]]:
        cursor = await db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        row = await cursor.fetchone()
        seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
        now = datetime.now(UTC)
        stamp = format_time(now)
        rows: list[tuple[int, str, str]] = []
        contents: list[tuple[str, str, str | None, str | None]] = []
        for pending in batch:
            seq += 1
            body = fill_template(pending.template, seq, stamp, prev)
            prev = body_hash(body)
            rows.append((seq, prev, body))
            if pending.content is not None:
                contents.append((pending.event_id, stamp, pending.content.prompt, pending.content.completion))
        async with db.cursor() as cur:
            await cur.executemany("INSERT INTO events (seq, hash, body) VALUES (%s, %s, %s)", rows)
            if contents:
                await cur.executemany(
                    "INSERT INTO content (event_id, stored_at, prompt, completion) VALUES (%s, %s, %s, %s)",
                    contents,
                )
        head = signer.sign_head(seq, prev, now)
        await db.execute(
            "INSERT INTO heads (seq, hash, key_id, signed_at, signature) VALUES (%s, %s, %s, %s, %s)",
            (head.seq, head.hash, head.key_id, stamp, head.signature),
        )
        return [(body, hash_) for _, hash_, body in rows]

    async def _maybe_purge(self, db: psycopg.AsyncConnection[Any]) -> None:
        """Drop stored content past its retention; the chain holds digests only, so it stays intact."""
        due = not self._purged_at or time.monotonic() - self._purged_at >= PURGE_EVERY_S
        if self._retention is None or not due:
            return
        self._purged_at = time.monotonic()
        cutoff = format_time(datetime.now(UTC) - timedelta(days=self._retention))
        await db.execute("DELETE FROM content WHERE stored_at < %s", (cutoff,))
