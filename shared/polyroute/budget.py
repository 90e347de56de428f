"""Budgets per principal and per team, per day and per month, in USD.

A call reserves its quote's maximum before any provider sees it and settles with the actual cost after
(or releases the reservation when it failed). The ledger is durable and shared — a SQLite file under the
data dir, each check-and-reserve one `BEGIN IMMEDIATE` transaction — so concurrent calls, processes and
replicas on one machine cannot overspend; `BudgetLedger` is the seam for a PostgreSQL ledger later.
Amounts are Decimal end to end (stored as text, summed in Python inside the transaction).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import anyio
from pydantic import BaseModel

from polyroute.errors import BudgetExceeded
from polyroute.settings import Budget, Settings
from polyroute.sqlitefile import use_wal
from polyroute.types import Money

STALE_AFTER_S = 15 * 60  # a reservation this old belongs to a call that died: give the money back


@dataclass(frozen=True)
class BudgetKey:
    """One budget in one period: e.g. ("team:legal", "month", "2026-11") with its limit."""

    scope: str
    period: str
    period_key: str
    limit_usd: Decimal


@dataclass(frozen=True)
class Reservation:
    """Money set aside for one call on every budget it counts against."""

    id: str
    keys: tuple[BudgetKey, ...]
    amount: Decimal


class BudgetStatus(BaseModel):
    scope: str
    period: str
    period_key: str
    limit_usd: Money
    spent_usd: Money
    reserved_usd: Money
    remaining_usd: Money


class BudgetLedger(Protocol):
    """Durable totals per (scope, period key); every method is one atomic transaction."""

    def reserve(self, keys: Sequence[BudgetKey], amount: Decimal, *, reservation_id: str, now: float) -> None:
        """Reserve `amount` on every key, or raise BudgetExceeded and reserve nothing."""
        ...

    def settle(self, reservation_id: str, keys: Sequence[BudgetKey], actual: Decimal) -> None:
        """Turn a reservation into spending of `actual` (more or less than reserved) on its keys.

        A reservation already expired as stale still has its actual cost counted on `keys`.
        """
        ...

    def release(self, reservation_id: str) -> None: ...

    def totals(self, keys: Sequence[BudgetKey]) -> list[BudgetStatus]: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_totals (
    scope TEXT NOT NULL, period_key TEXT NOT NULL, spent TEXT NOT NULL, reserved TEXT NOT NULL,
    PRIMARY KEY (scope, period_key));
CREATE TABLE IF NOT EXISTS budget_reservations (
    id TEXT PRIMARY KEY, keys TEXT NOT NULL, amount TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS budget_reservations_created ON budget_reservations (created);
"""


class SQLiteBudgetLedger:
    """The embedded ledger: one SQLite file (WAL), shared by every process that opens it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        use_wal(self._db)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def _write(self, work: Callable[[sqlite3.Connection], None]) -> None:
        """Run `work` in one BEGIN IMMEDIATE transaction (the write lock is taken before reading)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _row(self, db: sqlite3.Connection, scope: str, period_key: str) -> tuple[Decimal, Decimal]:
        row = db.execute(
            "SELECT spent, reserved FROM budget_totals WHERE scope = ? AND period_key = ?",
            (scope, period_key),
        ).fetchone()
        return (Decimal(row[0]), Decimal(row[1])) if row else (Decimal(0), Decimal(0))

    def _add(
        self, db: sqlite3.Connection, scope: str, period_key: str, spent: Decimal, reserved: Decimal
    ) -> None:
        old_spent, old_reserved = self._row(db, scope, period_key)
        db.execute(
            "INSERT OR REPLACE INTO budget_totals (scope, period_key, spent, reserved) VALUES (?, ?, ?, ?)",
            (scope, period_key, str(old_spent + spent), str(max(old_reserved + reserved, Decimal(0)))),
        )

    def reserve(self, keys: Sequence[BudgetKey], amount: Decimal, *, reservation_id: str, now: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            self._expire(db, now)
            for key in keys:
                spent, reserved = self._row(db, key.scope, key.period_key)
                if spent + reserved + amount > key.limit_usd:
                    raise BudgetExceeded(
                        f"budget {key.scope} per {key.period} ({key.period_key}) would be exceeded: limit "
                        f"${key.limit_usd}, spent ${spent}, reserved ${reserved}, "
                        f"this call may cost up to ${amount}"
                    )
            for key in keys:
                self._add(db, key.scope, key.period_key, Decimal(0), amount)
            encoded = json.dumps([[key.scope, key.period_key] for key in keys])
            db.execute(
                "INSERT INTO budget_reservations (id, keys, amount, created) VALUES (?, ?, ?, ?)",
                (reservation_id, encoded, str(amount), now),
            )

        self._write(work)

    def _take(self, db: sqlite3.Connection, reservation_id: str) -> tuple[list[list[str]], Decimal] | None:
        row = db.execute(
            "SELECT keys, amount FROM budget_reservations WHERE id = ?", (reservation_id,)
        ).fetchone()
        if row is None:
            return None
        db.execute("DELETE FROM budget_reservations WHERE id = ?", (reservation_id,))
        return json.loads(row[0]), Decimal(row[1])

    def settle(self, reservation_id: str, keys: Sequence[BudgetKey], actual: Decimal) -> None:
        def work(db: sqlite3.Connection) -> None:
            taken = self._take(db, reservation_id)
            reserved = Decimal(0) if taken is None else taken[1]
            for key in keys:
                self._add(db, key.scope, key.period_key, actual, -reserved)

        self._write(work)

    def release(self, reservation_id: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            taken = self._take(db, reservation_id)
            if taken is not None:
                for scope, period_key in taken[0]:
                    self._add(db, scope, period_key, Decimal(0), -taken[1])

        self._write(work)

    def _expire(self, db: sqlite3.Connection, now: float) -> None:
        stale = db.execute(
            "SELECT id FROM budget_reservations WHERE created < ?", (now - STALE_AFTER_S,)
        ).fetchall()
        for (reservation_id,) in stale:
            taken = self._take(db, reservation_id)
            if taken is not None:
                for scope, period_key in taken[0]:
                    self._add(db, scope, period_key, Decimal(0), -taken[1])

    def totals(self, keys: Sequence[BudgetKey]) -> list[BudgetStatus]:
        with self._lock:
            rows = [(key, self._row(self._db, key.scope, key.period_key)) for key in keys]
        return [
            BudgetStatus(
                scope=key.scope, period=key.period, period_key=key.period_key, limit_usd=key.limit_usd,
                spent_usd=spent, reserved_usd=reserved, remaining_usd=key.limit_usd - spent - reserved,
            )
            for key, (spent, reserved) in rows
        ]  # fmt: skip

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _open_ledger(settings: Settings) -> BudgetLedger:
    """PostgreSQL when the audit store (or POLYROUTE_BUDGET_URL) is, else the SQLite file."""
    from polyroute.pgconfig import ledger_url

    url = ledger_url(settings)
    if url is None:
        return SQLiteBudgetLedger(settings.data_dir / "budget.db")
    from polyroute.budget_postgres import PostgresBudgetLedger

    return PostgresBudgetLedger(url)


def period_key(period: str, when: datetime) -> str:
    return when.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


class Budgets:
    """The configured budgets applied to principals: which keys a call counts against, and the ledger."""

    def __init__(
        self,
        settings: Settings,
        ledger: BudgetLedger | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.clock = clock
        self._ledger = ledger
        self._opening = threading.Lock()

    @property
    def ledger(self) -> BudgetLedger:
        """The ledger, opened on first use (from whichever thread gets there first, once)."""
        with self._opening:
            if self._ledger is None:
                self._ledger = _open_ledger(self.settings)
            return self._ledger

    def keys_for(self, principal: str) -> list[BudgetKey]:
        """Every budget that applies to this principal (its own and its teams'), for the current periods."""
        scopes = {f"principal:{principal}", *(f"team:{team}" for team in self.settings.teams_of(principal))}
        when = datetime.fromtimestamp(self.clock(), UTC)
        return [self._key(budget, when) for budget in self.settings.budgets if budget.scope in scopes]

    @staticmethod
    def _key(budget: Budget, when: datetime) -> BudgetKey:
        return BudgetKey(budget.scope, budget.period, period_key(budget.period, when), budget.limit_usd)

    def headroom(self, principal: str) -> Decimal | None:
        """The least remaining across the principal's budgets, never below 0 (a limit lowered under what
        was already spent); None when no budget applies."""
        if not self.settings.budgets:
            return None
        keys = self.keys_for(principal)
        if not keys:
            return None
        return max(Decimal(0), min(status.remaining_usd for status in self.ledger.totals(keys)))

    def reserve(self, principal: str, amount: Decimal) -> Reservation | None:
        """Reserve `amount` on every budget of the principal; None when no budget applies.

        Raises BudgetExceeded (and reserves nothing) when any budget would go over its limit.
        """
        if not self.settings.budgets:
            return None
        keys = self.keys_for(principal)
        if not keys:
            return None
        reservation = Reservation(uuid.uuid4().hex, tuple(keys), amount)
        self.ledger.reserve(keys, amount, reservation_id=reservation.id, now=self.clock())
        return reservation

    def settle(self, reservation: Reservation | None, actual: Decimal) -> None:
        if reservation is not None:
            self.ledger.settle(reservation.id, reservation.keys, actual)

    def release(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            self.ledger.release(reservation.id)

    async def reserve_async(self, principal: str, amount: Decimal) -> Reservation | None:
        """`reserve` off the event loop (the ledger fsyncs); no thread hop when no budget is configured."""
        if not self.settings.budgets:
            return None
        return await anyio.to_thread.run_sync(self.reserve, principal, amount)

    async def settle_async(self, reservation: Reservation | None, actual: Decimal) -> None:
        if reservation is not None:
            await anyio.to_thread.run_sync(self.settle, reservation, actual)

    async def release_async(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            await anyio.to_thread.run_sync(self.release, reservation)

    def status(self, principal: str) -> list[BudgetStatus]:
        """Each budget of the principal with spent, reserved and remaining USD (for `budget_status`)."""
        keys = self.keys_for(principal)
        return self.ledger.totals(keys) if keys else []
