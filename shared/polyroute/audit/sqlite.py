"""The embedded SQLite audit store (WAL, synchronous=FULL, group commit, several processes per file).

Writes go through one `GroupCommitWriter` thread; reads run on a worker thread with their own
connection, so no blocking I/O touches the event loop. A store that was never written to is not
created by reading it: verify, query and export of a missing file see an empty log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from polyroute.audit import journal, scan
from polyroute.audit.ahead import Journaling
from polyroute.audit.batch import ContentRow, Written
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
from polyroute.audit.migrations import connect
from polyroute.audit.query import summaries, summary_sql, where_clause
from polyroute.audit.scan import export_page, verify_snapshot
from polyroute.audit.signing import Signer, key_id_of, load_signer, public_pem
from polyroute.audit.writer import GroupCommitWriter, open_path
from polyroute.errors import PolyrouteError
from polyroute.settings import Settings

T = TypeVar("T")
log = logging.getLogger("polyroute.audit")
EXPORT_PAGE = 2000
_LAST_SEQ = (
    "SELECT MAX((SELECT COALESCE(MAX(seq), 0) FROM events), (SELECT COALESCE(MAX(seq), 0) FROM heads))"
)


class SqliteAuditStore:
    """`AuditStore` on one SQLite file; safe to share between tasks, threads and processes."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self._settings = settings
        self._signer: Signer | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._ready = False
        # purge even with content logging off: text kept while it was on still expires
        retention = settings.audit.content_retention_days
        self._writer = GroupCommitWriter(
            self._connect_writer, self._load_signer, retention_days=retention, path=self.path
        )

    def _connect_writer(self) -> sqlite3.Connection:
        open_path(self.path)
        db = connect(self.path)
        db.execute("PRAGMA busy_timeout = 0")  # the writer retries the lock itself (see writer.py)
        return db

    def _load_signer(self) -> Signer:
        if self._signer is None:
            self._signer = load_signer(self._settings)
            assert self._signer is not None
        return self._signer

    # -- writing ---------------------------------------------------------------------------------

    async def ready(self) -> None:
        """Open the file for writing and load the signing key once, so a call that must leave a
        receipt is stopped before it starts when no receipt could be written."""
        if self._ready:
            return
        try:
            await anyio.to_thread.run_sync(self._probe_writable)
        except (sqlite3.Error, OSError) as error:
            raise PolyrouteError(f"audit store {self.path}: cannot write receipts: {error}") from None
        self._ready = True

    def _probe_writable(self) -> None:
        self._connect_writer().close()
        self._load_signer()
        content_digest(self._settings, "")  # the digest secret too: every receipt holds digests

    async def append(self, draft: EventDraft, *, content: EventContent | None = None) -> AuditEvent:
        """Record one event; returns once it is durable and covered by a signed head."""
        return (await self.append_ack(draft, content=content)).event()

    async def append_ack(self, draft: EventDraft, *, content: EventContent | None = None) -> Appended:
        """`append`, answering the committed event's id, seq and hash without parsing it back."""
        event_id, template, kept = prepare(self._settings, draft, content, intent_seq_later=True)
        return Appended.of(event_id, await self._submit(template, event_id, kept, _seq_of(draft)))

    async def append_ahead(self, draft: EventDraft, *, alone: bool = False) -> Ahead:
        """A routed call's intent. `alone` (no other routed call of this process in flight): journaled
        by the journal process while the caller goes on, durable once `Ahead.durable` says so, chained
        by the next group commit (journal.py, ahead.py); otherwise, or when the writer is busy, appended
        through the group commit like any event, durable on return."""
        event_id, template, _ = prepare(self._settings, draft, None)  # a journal row fills no placeholder
        if alone and (job := self._writer.write_ahead(template, event_id)) is not None:
            fallback = partial(self._submit, template, event_id, None, None)
            return Ahead(event_id, None, Journaling(job, fallback, self._failed))
        return Ahead(event_id, (await self._submit(template, event_id, None, None))[0])

    async def start_journal(self) -> bool:
        """Start the journal process (ahead.py) now rather than with the next lone call: whether lone
        calls' intents are journaled from here on (not before this store's first commit)."""
        return await anyio.to_thread.run_sync(self._writer.start_journal, 10.0)

    async def _submit(
        self, template: str, event_id: str, kept: ContentRow | None, intent: str | None
    ) -> Written:
        try:
            return await self._writer.submit(template, event_id, kept, intent_of=intent)
        except (sqlite3.Error, OSError) as error:
            raise self._failed(error) from None

    def _failed(self, error: BaseException) -> PolyrouteError:
        return append_failed(self.path, error, tampering=isinstance(error, sqlite3.IntegrityError))

    def append_later(
        self, draft: EventDraft, *, content: EventContent | None = None, alone: bool = False
    ) -> str:
        """Queue one event for the next group commit and return its id without waiting for it
        (`alone`: it may wait `LONE_LINGER_S` for company, see batch.py)."""
        event_id, template, kept = prepare(self._settings, draft, content, intent_seq_later=True)
        self._writer.enqueue(template, event_id, kept, intent_of=_seq_of(draft), lone=alone)
        return event_id

    # -- reading ---------------------------------------------------------------------------------

    def _read_sync(self, work: Callable[[sqlite3.Connection], T], empty: T) -> T:
        self._writer.settled()  # what this process queued (a routed call's outcome) is readable
        with self._read_lock:
            if self._reader is None and not self.path.exists():
                return empty
            try:
                if self._reader is None:
                    self._reader = connect(self.path)
                if journal.waiting(self._reader) and self._can_sign():  # e.g. left by a process that died
                    self._writer.chain_journal()
                return work(self._reader)
            except sqlite3.Error as error:  # the file itself, not an event: verify could not help
                raise PolyrouteError(f"audit store {self.path}: {error}") from None
            except (ValidationError, ValueError):
                raise PolyrouteError(
                    f"audit store {self.path} holds an unreadable event (run `polyroute audit verify`)"
                ) from None

    def _can_sign(self) -> bool:
        """Whether this installation's signing key exists: a read never creates one, so a copy of
        someone else's store read here keeps its journal as found (its own signer chains it)."""
        if self._signer is None:
            try:
                self._signer = load_signer(self._settings, create=False)
            except PolyrouteError as error:
                log.warning("audit: journaled intents left unchained: %s", error)
        return self._signer is not None

    async def _read(self, work: Callable[[sqlite3.Connection], T], empty: T) -> T:
        return await anyio.to_thread.run_sync(self._read_sync, work, empty)

    async def get(self, event_id: str) -> AuditEvent | None:
        def work(db: sqlite3.Connection) -> AuditEvent | None:
            row = db.execute("SELECT body, hash FROM events WHERE id = ?", (event_id,)).fetchone()
            return event_from_body(row[0], row[1]) if row else None

        return await self._read(work, None)

    async def query(self, query: EventQuery | None = None) -> list[AuditEvent]:
        """Events matching every filter, newest first, at most `limit`."""
        query = query or EventQuery()
        where, params = where_clause(query)
        sql = f"SELECT body, hash FROM events {where} ORDER BY seq DESC LIMIT ?"

        def work(db: sqlite3.Connection) -> list[AuditEvent]:
            return [event_from_body(body, h) for body, h in db.execute(sql, (*params, query.limit))]

        return await self._read(work, [])

    async def tail(self, n: int = 20) -> list[AuditEvent]:
        """The last `n` events, oldest first (like `tail`)."""
        return list(reversed(await self.query(EventQuery(limit=max(1, min(n, 10_000))))))

    async def summarize(self, group_by: GroupBy, filters: EventQuery | None = None) -> list[UsageSummary]:
        sql, params = summary_sql(group_by, filters or EventQuery())

        return await self._read(lambda db: summaries(db.execute(sql, params)), [])

    async def content(self, event_id: str) -> EventContent | None:
        """Stored prompt/completion text for an event, if content logging kept it and it is not purged."""

        def work(db: sqlite3.Connection) -> EventContent | None:
            row = db.execute(
                "SELECT prompt, completion FROM content WHERE event_id = ?", (event_id,)
            ).fetchone()
            return EventContent(prompt=row[0], completion=row[1]) if row else None

        return await self._read(work, None)

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
        if public_key is None and self.path.exists():
            signer = await anyio.to_thread.run_sync(partial(load_signer, self._settings, create=False))
            public_key = signer.public_key if signer else None
        keys = {key_id_of(public_key): public_key} if public_key else {}
        every = [*([Anchor(*anchor)] if anchor else []), *anchors]
        return await self._read(
            partial(verify_snapshot, keys, every), ChainVerifier(keys, anchors=every).result()
        )

    async def hash_at(self, seq: int) -> str | None:
        """The stored hash of event `seq`, None if the log has no such event (a cheap witness check)."""
        return await self._read(partial(scan.hash_at, seq), None)

    async def latest_head(self) -> SignedHead | None:
        """The newest signed head as stored (its signature unchecked)."""
        return await self._read(scan.latest_head, None)

    async def export_lines(self) -> AsyncIterator[str]:
        """JSONL lines (see `polyroute.audit.export`) of everything committed when the export starts.

        Rows and heads are exported as found, tampered or not: judging them is the verifier's job.
        """
        end = await self._read(lambda db: db.execute(_LAST_SEQ).fetchone()[0], 0)
        after = 0
        while after < end:
            page_end = min(after + EXPORT_PAGE, end)
            lines = await self._read(partial(export_page, after, page_end), list[str]())
            for line in lines:
                yield line
            after = page_end

    async def export(self, write: Callable[[str], Any]) -> int:
        """Write every export line (with its newline) through `write`; returns the number of lines."""
        return await write_lines(self.export_lines(), write)

    async def public_key_pem(self) -> str:
        signer = await anyio.to_thread.run_sync(self._load_signer)
        return public_pem(signer.public_key)

    async def key_id(self) -> str:
        return (await anyio.to_thread.run_sync(self._load_signer)).key_id

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._writer.close)
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def _seq_of(draft: EventDraft) -> str | None:
    """The intent whose seq the commit fills in (`prepare(intent_seq_later=True)` left a placeholder)."""
    return draft.intent_id if draft.intent_seq is None else None
