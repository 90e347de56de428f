"""The budget ledger in PostgreSQL: N replicas reserve and settle against one set of totals.

Implements `polyroute.budget.BudgetLedger`. Each method is one transaction that locks the totals rows
it reads (`SELECT … FOR UPDATE`, always in (scope, period key) order so two calls cannot deadlock),
so whatever the interleaving across replicas, a reservation is checked against totals nobody else can
change until it commits: the budget is never overspent by concurrent calls. Nothing is kept in
process memory. Amounts are `numeric`, exact like the Decimals they come from.

The rules are the ledger's contract (`budget.BudgetLedger`): a call is refused by `budget.refusal`,
the one rule and wording every ledger applies, checked here against the locked totals; settling
counts the actual cost even above what was reserved. A dropped connection is retried on a fresh
one; every method is idempotent by its reservation id (settlements are recorded), so a commit whose
acknowledgement was lost is not counted twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from polyroute.audit.pgmigrate import migrate_pg
from polyroute.budget import STALE_AFTER_S, BudgetKey, BudgetStatus, is_bounded, refusal
from polyroute.errors import BudgetExceeded, PolyrouteError
from polyroute.pgconfig import connect_timeout, conninfo, pool_size, redacted
from polyroute.quota import KEPT_S, WINDOW_S, RateKey, RateStatus, rate_refusal, rate_status

T = TypeVar("T")
RETRY_FOR_S = 10.0
EXPIRE_EVERY_S = 30.0  # sweeping stale reservations costs a transaction: not on every call
SETTLEMENTS_KEPT_S = 2 * 24 * 3600  # long past any retry of a lost acknowledgement
Db = psycopg.Connection[Any]
Pair = tuple[str, str]
RATE_LOCKS = 0x72617465  # "rate": the class of the per-scope advisory locks of the request window
_IN_PAIRS: LiteralString = "(scope, period_key) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"


class PostgresBudgetLedger:
    """`BudgetLedger` on a PostgreSQL database (the audit store's, unless POLYROUTE_BUDGET_URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = redacted(url)
        self._pool: ConnectionPool[Any] | None = None
        self._opening = threading.Lock()
        self._expired_at = float("-inf")

    def _connections(self) -> ConnectionPool[Any]:
        with self._opening:
            if self._pool is None:
                migrate_pg(conninfo(self.url), connect_timeout=connect_timeout())
                self._pool = ConnectionPool(
                    conninfo(self.url), min_size=1, max_size=pool_size(), name="polyroute-budget",
                    kwargs={"autocommit": True, "connect_timeout": connect_timeout()},
                    check=ConnectionPool.check_connection, timeout=connect_timeout(), open=True,
                )  # fmt: skip
            return self._pool

    def _transaction(self, work: Callable[[Db], T]) -> T:
        """`work` in one transaction, retried on a fresh connection while the database is unreachable
        or the transaction was rolled back by the server (deadlock, failover)."""
        deadline = time.monotonic() + RETRY_FOR_S
        while True:
            try:
                with self._connections().connection() as db, db.transaction():
                    return work(db)
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise PolyrouteError(f"budget ledger {self.name}: {error}") from None
            except psycopg.Error as error:
                raise PolyrouteError(f"budget ledger {self.name}: {error}") from None
            time.sleep(0.05)

    @staticmethod
    def _lock(db: Db, pairs: Sequence[Pair]) -> dict[Pair, tuple[Decimal, Decimal]]:
        """Lock the totals rows of `pairs` (creating them at zero), in one global order."""
        ordered = sorted(set(pairs))
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO budget_totals (scope, period_key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                ordered,
            )
        rows = db.execute(
            f"SELECT scope, period_key, spent, reserved FROM budget_totals WHERE {_IN_PAIRS} "
            "ORDER BY scope, period_key FOR UPDATE",
            ([p[0] for p in ordered], [p[1] for p in ordered]),
        ).fetchall()
        return {(row[0], row[1]): (Decimal(row[2]), Decimal(row[3])) for row in rows}

    @staticmethod
    def _add(db: Db, pairs: Sequence[Pair], spent: Decimal, reserved: Decimal) -> None:
        for scope, period_key in sorted(set(pairs)):
            db.execute(
                "UPDATE budget_totals SET spent = spent + %s, reserved = GREATEST(reserved + %s, 0) "
                "WHERE scope = %s AND period_key = %s",
                (spent, reserved, scope, period_key),
            )

    def reserve(self, keys: Sequence[BudgetKey], amount: Decimal, *, reservation_id: str, now: float) -> None:
        if not is_bounded(amount):
            raise ValueError(f"a reservation needs a finite, non-negative amount, not {amount}")
        if abs(now - self._expired_at) >= EXPIRE_EVERY_S:  # any replica's sweep serves all of them
            self._transaction(lambda db: self._expire(db, now))
            self._expired_at = now

        def work(db: Db) -> None:
            if db.execute("SELECT 1 FROM budget_reservations WHERE id = %s", (reservation_id,)).fetchone():
                return  # this reservation committed before its acknowledgement was lost
            totals = self._lock(db, [(key.scope, key.period_key) for key in keys])
            for key in keys:
                reason = refusal(key, *totals[(key.scope, key.period_key)], amount)
                if reason is not None:  # the same rule and words as every other ledger
                    raise BudgetExceeded(reason)
            self._add(db, [(key.scope, key.period_key) for key in keys], Decimal(0), amount)
            db.execute(
                "INSERT INTO budget_reservations (id, keys, amount, created) VALUES (%s, %s, %s, %s)",
                (reservation_id, json.dumps([[key.scope, key.period_key] for key in keys]), amount, now),
            )

        self._transaction(work)

    @staticmethod
    def _take(db: Db, where: LiteralString, param: object) -> list[tuple[list[Pair], Decimal]]:
        rows = db.execute(
            f"DELETE FROM budget_reservations WHERE {where} RETURNING keys, amount", (param,)
        ).fetchall()
        return [([(scope, key) for scope, key in row[0]], Decimal(row[1])) for row in rows]

    def settle(self, reservation_id: str, keys: Sequence[BudgetKey], actual: Decimal) -> None:
        def work(db: Db) -> None:
            done = db.execute(
                "INSERT INTO budget_settlements (id, settled) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (reservation_id, time.time()),
            )
            if done.rowcount == 0:
                return  # settled before its acknowledgement was lost
            pairs = [(key.scope, key.period_key) for key in keys]
            self._lock(db, pairs)
            taken = self._take(db, "id = %s", reservation_id)
            self._add(db, pairs, actual, -(taken[0][1] if taken else Decimal(0)))

        self._transaction(work)

    def release(self, reservation_id: str) -> None:
        def work(db: Db) -> None:
            for pairs, amount in self._take(db, "id = %s", reservation_id):
                self._lock(db, pairs)
                self._add(db, pairs, Decimal(0), -amount)

        self._transaction(work)

    def _expire(self, db: Db, now: float) -> None:
        """Give back reservations of calls that died (and forget settlements no retry can repeat)."""
        db.execute("DELETE FROM budget_settlements WHERE settled < %s", (now - SETTLEMENTS_KEPT_S,))
        for pairs, amount in self._take(db, "created < %s", now - STALE_AFTER_S):
            self._lock(db, pairs)
            self._add(db, pairs, Decimal(0), -amount)

    def totals(self, keys: Sequence[BudgetKey]) -> list[BudgetStatus]:
        pairs = sorted({(key.scope, key.period_key) for key in keys})

        def work(db: Db) -> dict[Pair, tuple[Decimal, Decimal]]:
            rows = db.execute(
                f"SELECT scope, period_key, spent, reserved FROM budget_totals WHERE {_IN_PAIRS}",
                ([p[0] for p in pairs], [p[1] for p in pairs]),
            ).fetchall()
            return {(row[0], row[1]): (Decimal(row[2]), Decimal(row[3])) for row in rows}

        found = self._transaction(work)
        statuses: list[BudgetStatus] = []
        for key in keys:
            spent, reserved = found.get((key.scope, key.period_key), (Decimal(0), Decimal(0)))
            statuses.append(BudgetStatus(
                scope=key.scope, period=key.period, period_key=key.period_key, limit_usd=key.limit_usd,
                spent_usd=spent, reserved_usd=reserved, remaining_usd=key.limit_usd - spent - reserved,
            ))  # fmt: skip
        return statuses

    def take(self, keys: Iterable[RateKey], *, slot_id: str, now: float) -> None:
        keys = list(keys)

        def work(db: Db) -> None:
            if db.execute("SELECT 1 FROM rate_slots WHERE id = %s", (slot_id,)).fetchone():
                return  # this slot committed before its acknowledgement was lost
            for scope in sorted({key.scope for key in keys}):  # one global order: no deadlock
                db.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (RATE_LOCKS, scope))
            for key in keys:
                db.execute(
                    "DELETE FROM rate_slots WHERE scope = %s AND taken < %s", (key.scope, now - KEPT_S)
                )
                refused = rate_refusal(key, *self._window(db, key, now), now)
                if refused is not None:
                    raise refused
            with db.cursor() as cur:
                cur.executemany(
                    "INSERT INTO rate_slots (id, scope, taken) VALUES (%s, %s, %s)",
                    [(slot_id, key.scope, now) for key in keys],
                )

        self._transaction(work)

    @staticmethod
    def _window(db: Db, key: RateKey, now: float) -> tuple[int, float | None]:
        """Slots in (now − 60 s, now], and the time of the one whose leaving would admit a call."""
        since = now - WINDOW_S
        row = db.execute(
            "SELECT count(*) FROM rate_slots WHERE scope = %s AND taken > %s", (key.scope, since)
        ).fetchone()
        used = int(row[0]) if row else 0
        if used < key.limit:
            return used, None
        row = db.execute(
            "SELECT taken FROM rate_slots WHERE scope = %s AND taken > %s ORDER BY taken LIMIT 1 OFFSET %s",
            (key.scope, since, used - key.limit),
        ).fetchone()
        return used, float(row[0]) if row else None

    def give_back(self, slot_id: str) -> None:
        self._transaction(lambda db: db.execute("DELETE FROM rate_slots WHERE id = %s", (slot_id,)))

    def rates(self, keys: Iterable[RateKey], now: float) -> list[RateStatus]:
        keys = list(keys)
        return self._transaction(
            lambda db: [rate_status(key, *self._window(db, key, now), now) for key in keys]
        )

    def close(self) -> None:
        with self._opening:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
