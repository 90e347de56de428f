"""Helpers for the audit tests: plausible events, and tampering with a SQLite file the way an attacker
with write access to it could."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from polyroute.audit import AuditStore, EventDraft
from polyroute.audit.event import body_hash, canonical_json
from polyroute.settings import Settings
from polyroute.types import Usage


def draft(n: int = 0, **overrides: Any) -> EventDraft:
    """A plausible completion receipt; `n` varies principal, provider and tokens."""
    fields: dict[str, Any] = {
        "event_type": "completion",
        "principal": f"user-{n % 3}",
        "provider": ("anthropic", "openai")[n % 2],
        "deployment": ("anthropic-claude-sonnet-4-6", "openai-gpt-5-4")[n % 2],
        "model": ("claude-sonnet-4-6", "gpt-5.4")[n % 2],
        "jurisdiction": "SA",
        "data_class": "personal",
        "allowed": True,
        "usage": Usage(input_tokens=100 + n, output_tokens=10 + n),
        "estimated_cost_usd": Decimal("0.0012"),
        "cost_usd": Decimal("0.00105") + Decimal(n) / 10_000,
        "latency_ms": 12.5,
        "details": {"candidates": [{"deployment": "x", "excluded": "residency"}], "n": n},
    }
    fields.update(overrides)
    return EventDraft(**fields)


async def fill(store: AuditStore, count: int) -> None:
    for n in range(count):
        await store.append(draft(n))


def db_path(settings: Settings) -> Path:
    return settings.data_dir / "audit.db"


def is_postgres(settings: Settings) -> bool:
    return settings.audit_url.startswith("postgresql:")


class _Pg:
    """A psycopg connection taking the tests' SQLite-style `?` parameters."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.db = psycopg.connect(url)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.db.execute(sql.replace("?", "%s"), params)  # pyright: ignore[reportArgumentType]

    def __enter__(self) -> _Pg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.commit() if exc[0] is None else self.db.rollback()
        self.db.close()


def raw(settings: Settings) -> Any:
    """A raw connection to the store (commits on leaving a `with`), SQLite file or PostgreSQL."""
    return _Pg(settings.audit_url) if is_postgres(settings) else sqlite3.connect(db_path(settings))


def tamper(settings: Settings, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Run raw SQL on the store, as someone with write access to it could."""
    with raw(settings) as db:
        for sql, params in statements:
            db.execute(sql, params)


def rewrite_from(settings: Settings, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Change event `seq` and recompute every later hash consistently (no key: heads stay as they are)."""
    with raw(settings) as db:
        rows = db.execute("SELECT seq, body FROM events WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
        (prev,) = db.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone() or ("0" * 64,)
        for number, text in rows:
            fields = json.loads(text)
            if number == seq:
                change(fields)
            fields["prev_hash"] = prev
            body = canonical_json(fields)
            prev = body_hash(body)
            db.execute("UPDATE events SET body = ?, hash = ? WHERE seq = ?", (body, prev, number))
