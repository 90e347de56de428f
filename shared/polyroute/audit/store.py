"""The `AuditStore` protocol every backend implements, and `open_store` that picks one from the URL.

The protocol is what the router, the MCP servers and the CLI code against; the shared test suite in
tests/audit runs against every implementation (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from polyroute.audit.chain import Anchor
from polyroute.audit.draft import Ahead, Appended
from polyroute.audit.event import (
    AuditEvent,
    EventContent,
    EventDraft,
    EventQuery,
    GroupBy,
    SignedHead,
    UsageSummary,
    VerifyResult,
)
from polyroute.errors import ConfigError
from polyroute.settings import Settings


class AuditStore(Protocol):
    async def ready(self) -> None:
        """Raise unless appends can succeed (store writable, signing key and digest secret usable):
        callers that are about to do something that must leave a receipt check this first."""
        ...

    async def append(self, draft: EventDraft, *, content: EventContent | None = None) -> AuditEvent:
        """Record one event; returns once it is durable and covered by a signed head."""
        ...

    async def append_ack(self, draft: EventDraft, *, content: EventContent | None = None) -> Appended:
        """`append`, answering only the committed event's id, seq, hash and body (parsing a receipt
        back is not free)."""
        ...

    async def append_ahead(self, draft: EventDraft, *, alone: bool = False) -> Ahead:
        """A routed call's intent, chained now or by the next group commit (then `Ahead.seq` is None,
        and an outcome naming it gets its `intent_seq` when both are chained). Durable on return,
        unless `alone` — the caller knows of no other append of this process on its way (a routed call
        with no other in flight) — lets the store finish writing it meanwhile (SQLite's journal, by its
        journal process): it is durable once `Ahead.durable.wait()` returns, which every provider
        request of the call waits for (sendgate.py)."""
        ...

    def append_later(
        self, draft: EventDraft, *, content: EventContent | None = None, alone: bool = False
    ) -> str:
        """Queue one event for the next group commit and return its id at once (bad input raises here;
        a failed commit is logged). Reads from this store object wait for it; `aclose` commits it.
        `alone`: the outcome of a call that had no other in flight, which may wait longer for company
        (SQLite: 50 ms instead of 5, so that one commit serves many sequential calls)."""
        ...

    async def get(self, event_id: str) -> AuditEvent | None: ...
    async def query(self, query: EventQuery | None = None) -> list[AuditEvent]: ...
    async def summarize(self, group_by: GroupBy, filters: EventQuery | None = None) -> list[UsageSummary]: ...
    async def tail(self, n: int = 20) -> list[AuditEvent]: ...
    async def content(self, event_id: str) -> EventContent | None: ...
    async def verify(
        self,
        *,
        public_key: Ed25519PublicKey | None = None,
        anchor: tuple[int, str] | None = None,
        anchors: Sequence[Anchor] = (),
    ) -> VerifyResult:
        """Check the chain and signed heads against `public_key` (default: this installation's key) and
        that the log still holds `anchor` and each of `anchors`, (seq, hash) kept from earlier
        verifications (`ChainVerifier` does all of it, given the rows in order)."""
        ...

    async def hash_at(self, seq: int) -> str | None:
        """The stored hash of event `seq`; None when the log has no such event."""
        ...

    async def latest_head(self) -> SignedHead | None:
        """The newest signed head as stored, signature unchecked; None for an empty log."""
        ...

    def export_lines(self) -> AsyncIterator[str]: ...
    async def export(self, write: Callable[[str], Any]) -> int: ...
    async def public_key_pem(self) -> str: ...
    async def key_id(self) -> str: ...
    async def aclose(self) -> None: ...


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URL."""
    rest = url[len("sqlite:///") :] if url[: len("sqlite:///")].lower() == "sqlite:///" else ""
    if not rest or rest == ":memory:" or "?" in rest:
        raise ConfigError(
            "the audit store URL must name a SQLite file: sqlite:////absolute/path/audit.db "
            "(four slashes) or sqlite:///relative/path.db"
        )
    return Path(rest)


def open_store(settings: Settings) -> AuditStore:
    """The store `settings.audit_url` names. Nothing is opened or created until first use."""
    url = settings.audit_url
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from polyroute.audit.sqlite import SqliteAuditStore

        return SqliteAuditStore(sqlite_path(url), settings)
    if scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        try:
            from polyroute.audit.postgres import PostgresAuditStore
        except ImportError:
            raise ConfigError(
                "the PostgreSQL audit store needs psycopg: pip install 'polyroute[postgres]'"
            ) from None
        return PostgresAuditStore(url, settings)
    raise ConfigError(
        f"unsupported audit store URL scheme {scheme!r}: use sqlite:////path/audit.db "
        "or postgresql://user@host/db"
    )
