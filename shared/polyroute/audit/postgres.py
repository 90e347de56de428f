"""The PostgreSQL audit store: the SQLite store's contract, shared by any number of replicas.

Same canonical bodies, hashes, signed heads, queries, exports and verification (the encoding and the
chain rules live in event.py, chain.py and signing.py, used by both backends). Appends are group
committed per replica and serialised across replicas by an advisory lock in the database (see
pgwriter.py). Connections come from a psycopg pool, one per event loop that uses the store (the CLI
runs one loop per command); its size and timeout are in polyroute.pgconfig.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, LiteralString, TypeVar, cast

import anyio
import anyio.to_thread
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from polyroute.audit.chain import Anchor, ChainVerifier
from polyroute.audit.digest import content_digest
from polyroute.audit.draft import Ahead, Appended, append_failed, prepare
from polyroute.audit.event import (
    AuditEvent,
    EventContent,
    EventDraft,
    EventQuery,
    GroupBy,
    SignedHead,
    UsageSummary,
    VerifyResult,
    event_from_body,
)
from polyroute.audit.export import write_lines
from polyroute.audit.pgmigrate import migrate_pg
from polyroute.audit.pgscan import export_page_pg, verify_pg
from polyroute.audit.pgwriter import Later, LoopWriter, PgCommitter
from polyroute.audit.query import POSTGRES, summaries, summary_sql, where_clause
from polyroute.audit.scan import HEADS, HeadRow, head_of
from polyroute.audit.signing import Signer, key_id_of, load_signer, public_pem
from polyroute.errors import PolyrouteError
from polyroute.pgconfig import connect_timeout, conninfo, pool_size, redacted
from polyroute.settings import Settings

T = TypeVar("T")
EXPORT_PAGE = 2000
READY_FOR_S = 1.0
_LAST_SEQ = (
    "SELECT GREATEST((SELECT COALESCE(MAX(seq), 0) FROM events), (SELECT COALESCE(MAX(seq), 0) FROM heads))"
)
Db = psycopg.AsyncConnection[Any]


class PostgresAuditStore:
    """`AuditStore` on one PostgreSQL database; safe to share between tasks, loops and replicas."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.name = redacted(url)
        self._settings = settings
        self._signer: Signer | None = None
        self._migrated = False
        self._migrating = anyio.Lock()
        self._writers: dict[asyncio.AbstractEventLoop, LoopWriter] = {}
        self._later: dict[asyncio.AbstractEventLoop, Later] = {}
        self._ready_until = 0.0  # monotonic time until which `ready` trusts the last success
        retention = settings.audit.content_retention_days
        self._committer = PgCommitter(self._load_signer_async, retention_days=retention)

    # -- connections -----------------------------------------------------------------------------

    async def _writer(self) -> LoopWriter:
        """This event loop's pool and commit queue, opened (and the schema migrated) on first use."""
        if not self._migrated:
            async with self._migrating:
                if not self._migrated:
                    await self._migrate()
        loop = asyncio.get_running_loop()
        for other in [other for other in self._writers if other.is_closed()]:
            del self._writers[other]  # that loop's tasks ended with it; its sockets go with the pool
            self._later.pop(other, None)
        while True:
            state = self._writers.get(loop)
            if state is None:
                state = self._writers[loop] = LoopWriter(self._new_pool())
                await state.pool.open()
                state.opened.set()
            await state.opened.wait()
            if self._writers.get(loop) is state:  # not closed by `aclose` meanwhile
                return state

    def _new_pool(self) -> AsyncConnectionPool[Any]:
        return AsyncConnectionPool(
            conninfo(self.url), min_size=1, max_size=pool_size(), open=False, name="polyroute-audit",
            kwargs={"autocommit": True, "connect_timeout": connect_timeout()},
            timeout=connect_timeout(),
        )  # fmt: skip

    async def _migrate(self) -> None:
        timeout = connect_timeout()
        try:
            await anyio.to_thread.run_sync(partial(migrate_pg, conninfo(self.url), connect_timeout=timeout))
        except psycopg.Error as error:
            raise PolyrouteError(f"audit store {self.name}: {error}") from None
        self._migrated = True

    async def _run(self, work: Callable[[Db], Awaitable[T]], *, settle: bool = True) -> T:
        """`work` on a pooled connection, after what this loop queued (read your writes) unless
        `settle` is False; if the connection was lost (a failover or a restart drops every idle one),
        the pool's idle connections are checked and `work` runs once more."""
        if settle:
            await self._settled()
        for attempt in (1, 2):
            pool = (await self._writer()).pool
            try:
                async with pool.connection() as db:
                    return await work(db)
            except psycopg.OperationalError as error:
                if attempt == 2:
                    raise PolyrouteError(f"audit store {self.name}: {error}") from None
                await pool.check()
            except (ValidationError, ValueError):
                raise PolyrouteError(
                    f"audit store {self.name} holds an unreadable event (run `polyroute audit verify`)"
                ) from None
            except psycopg.Error as error:
                raise PolyrouteError(f"audit store {self.name}: {error}") from None
        raise AssertionError("unreachable")

    def _load_signer(self) -> Signer:
        if self._signer is None:
            self._signer = load_signer(self._settings)
            assert self._signer is not None
        return self._signer

    async def _load_signer_async(self) -> Signer:
        return self._signer or await anyio.to_thread.run_sync(self._load_signer)

    # -- writing ---------------------------------------------------------------------------------

    async def ready(self) -> None:
        """A round trip to the database, a usable signing key and the digest secret — unless a commit
        or a check succeeded within `READY_FOR_S` and no append failed since. Safe: this is the early
        refusal, not the guarantee; every routed call awaits its durable intent before any provider
        sees it, so a database lost inside the window fails that append ("append failed") first."""
        if time.monotonic() < self._ready_until:
            return
        try:  # not behind the outcomes queued by earlier calls: they are off the response path
            await self._run(lambda db: db.execute("SELECT 1"), settle=False)
        except (PolyrouteError, psycopg.Error, OSError) as error:
            raise PolyrouteError(f"audit store {self.name}: cannot write receipts: {error}") from None
        await self._load_signer_async()
        await anyio.to_thread.run_sync(content_digest, self._settings, "")
        self._ready_until = time.monotonic() + READY_FOR_S

    async def append(self, draft: EventDraft, *, content: EventContent | None = None) -> AuditEvent:
        """Record one event; returns once it is committed and covered by a signed head."""
        return (await self.append_ack(draft, content=content)).event()

    async def append_ack(self, draft: EventDraft, *, content: EventContent | None = None) -> Appended:
        """`append`, answering the committed event's id, seq and hash without parsing it back."""
        event_id, template, kept = prepare(self._settings, draft, content, nul_ok=False)
        try:
            state = await self._writer()
            written = await self._committer.submit(state, template, event_id, kept)
        except BaseException as error:  # the next `ready` asks the database again
            self._ready_until = 0.0
            if not isinstance(error, psycopg.Error | OSError):
                raise
            raise append_failed(
                self.name, error, tampering=isinstance(error, psycopg.IntegrityError)
            ) from None
        self._ready_until = time.monotonic() + READY_FOR_S  # a commit is proof enough for a while
        return Appended.of(event_id, written)

    async def append_ahead(self, draft: EventDraft, *, alone: bool = False) -> Ahead:
        """A routed call's intent, chained at once (`alone` changes nothing here: appends are awaited
        on the event loop, no thread is woken)."""
        appended = await self.append_ack(draft)
        return Ahead(appended.id, appended.seq)

    def append_later(
        self, draft: EventDraft, *, content: EventContent | None = None, alone: bool = False
    ) -> str:
        """Queue one event for the next group commit of this event loop and return its id at once
        (bad input raises here; a failed commit is logged). Reads on this loop wait for it, and
        `aclose` commits it. `alone` changes nothing here."""
        event_id, template, kept = prepare(self._settings, draft, content, nul_ok=False)
        loop = asyncio.get_running_loop()
        later = self._later.setdefault(loop, Later())
        later.items.append((template, event_id, kept))
        if later.task is None or later.task.done():
            later.task = loop.create_task(self._committer.commit_later(later, self._writer))
        return event_id

    async def _settled(self) -> None:
        if (later := self._later.get(asyncio.get_running_loop())) is not None:
            await later.settled()

    # -- reading ---------------------------------------------------------------------------------

    async def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of `sql` written with SQLite's `?` placeholders (query.py's SQL serves both stores; it
        interpolates only fixed column names, every value is a parameter)."""
        query = cast(LiteralString, sql.replace("?", "%s"))

        async def work(db: Db) -> list[tuple[Any, ...]]:
            return await (await db.execute(query, params)).fetchall()

        return await self._run(work)

    async def get(self, event_id: str) -> AuditEvent | None:
        rows = await self._rows("SELECT body, hash FROM events WHERE id = ?", (event_id,))
        return self._events(rows)[0] if rows else None

    def _events(self, rows: list[tuple[Any, ...]]) -> list[AuditEvent]:
        try:
            return [event_from_body(body, hash_) for body, hash_ in rows]
        except (ValidationError, ValueError):
            raise PolyrouteError(
                f"audit store {self.name} holds an unreadable event (run `polyroute audit verify`)"
            ) from None

    async def query(self, query: EventQuery | None = None) -> list[AuditEvent]:
        """Events matching every filter, newest first, at most `limit`."""
        query = query or EventQuery()
        where, params = where_clause(query)
        sql = f"SELECT body, hash FROM events {where} ORDER BY seq DESC LIMIT ?"
        return self._events(await self._rows(sql, (*params, query.limit)))

    async def tail(self, n: int = 20) -> list[AuditEvent]:
        """The last `n` events, oldest first (like `tail`)."""
        return list(reversed(await self.query(EventQuery(limit=max(1, min(n, 10_000))))))

    async def summarize(self, group_by: GroupBy, filters: EventQuery | None = None) -> list[UsageSummary]:
        sql, params = summary_sql(group_by, filters or EventQuery(), POSTGRES)
        return summaries(await self._rows(sql, params))

    async def content(self, event_id: str) -> EventContent | None:
        """Stored prompt/completion text for an event, if content logging kept it and it is not purged."""
        rows = await self._rows("SELECT prompt, completion FROM content WHERE event_id = ?", (event_id,))
        return EventContent(prompt=rows[0][0], completion=rows[0][1]) if rows else None

    # -- verification and export -----------------------------------------------------------------

    async def verify(
        self,
        *,
        public_key: Ed25519PublicKey | None = None,
        anchor: tuple[int, str] | None = None,
        anchors: Sequence[Anchor] = (),
    ) -> VerifyResult:
        """Recompute the whole chain and check the signed heads against `public_key` (default: ours);
        `anchor`/`anchors` are (seq, hash) from earlier verifications that the log must still hold."""
        if public_key is None:
            signer = await anyio.to_thread.run_sync(partial(load_signer, self._settings, create=False))
            public_key = signer.public_key if signer else None
        keys = {key_id_of(public_key): public_key} if public_key else {}
        every = [*([Anchor(*anchor)] if anchor else []), *anchors]
        if not keys and not await self._rows("SELECT 1 FROM events LIMIT 1"):
            return ChainVerifier(keys, anchors=every).result()
        return await self._run(lambda db: verify_pg(db, keys, every))

    async def hash_at(self, seq: int) -> str | None:
        """The stored hash of event `seq`, None if the log has no such event (a cheap witness check)."""
        rows = await self._rows("SELECT hash FROM events WHERE seq = ?", (seq,))
        return str(rows[0][0]) if rows else None

    async def latest_head(self) -> SignedHead | None:
        """The newest signed head as stored (its signature unchecked)."""
        rows = await self._rows(f"{HEADS} DESC LIMIT 1")
        return head_of(cast(HeadRow, rows[0])) if rows else None

    async def export_lines(self) -> AsyncIterator[str]:
        """JSONL lines (see `polyroute.audit.export`) of everything committed when the export starts."""
        end = (await self._rows(_LAST_SEQ))[0][0]
        after = 0
        while after < end:
            page_end = min(after + EXPORT_PAGE, end)
            for line in await self._run(partial(export_page_pg, after=after, end=page_end)):
                yield line
            after = page_end

    async def export(self, write: Callable[[str], Any]) -> int:
        """Write every export line (with its newline) through `write`; returns the number of lines."""
        return await write_lines(self.export_lines(), write)

    async def public_key_pem(self) -> str:
        return public_pem((await self._load_signer_async()).public_key)

    async def key_id(self) -> str:
        return (await self._load_signer_async()).key_id

    async def aclose(self) -> None:
        """Finish this loop's queued appends and close its pool (the store reopens on next use)."""
        await self._settled()
        self._later.pop(asyncio.get_running_loop(), None)
        state = self._writers.pop(asyncio.get_running_loop(), None)
        if state is None:
            return
        while state.task is not None and not state.task.done():
            await asyncio.shield(state.task)
        await state.pool.close()
