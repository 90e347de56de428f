"""The embedded ledger: one SQLite file (WAL, 0600) shared by every process that opens it.

Each method is one `BEGIN IMMEDIATE` transaction (the write lock is taken before reading), so a
check-and-reserve (or check-and-take of a request slot) cannot interleave with another one, in this
process or another. Amounts are stored as text and summed as Decimal inside the transaction. The
semantics are `budget.BudgetLedger`'s and `quota.RateLedger`'s.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from decimal import Decimal
from pathlib import Path

from polyroute.budget import STALE_AFTER_S, BudgetKey, BudgetStatus, is_bounded, refusal
from polyroute.errors import BudgetExceeded
from polyroute.quota import KEPT_S, WINDOW_S, RateKey, RateStatus, rate_refusal, rate_status
from polyroute.sqlitefile import use_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_totals (
    scope TEXT NOT NULL, period_key TEXT NOT NULL, spent TEXT NOT NULL, reserved TEXT NOT NULL,
    PRIMARY KEY (scope, period_key));
CREATE TABLE IF NOT EXISTS budget_reservations (
    id TEXT PRIMARY KEY, keys TEXT NOT NULL, amount TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS budget_reservations_created ON budget_reservations (created);
CREATE TABLE IF NOT EXISTS rate_slots (
    id TEXT NOT NULL, scope TEXT NOT NULL, taken REAL NOT NULL, PRIMARY KEY (id, scope));
CREATE INDEX IF NOT EXISTS rate_slots_scope_taken ON rate_slots (scope, taken);
"""


def private_file(path: Path) -> None:
    """Create `path` 0600 before SQLite does (it would follow the umask, usually 0644), and tighten a file
    an older version left readable by others. SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        with suppress(PermissionError):  # not ours to change: the next open still works
            os.chmod(path, mode & 0o700)


class SQLiteBudgetLedger:
    """`BudgetLedger` on a SQLite file."""

    def __init__(self, path: Path) -> None:
        private_file(path)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        use_wal(self._db)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def _write(self, work: Callable[[sqlite3.Connection], object], *, fsync: bool = True) -> None:
        """Run `work` in one BEGIN IMMEDIATE transaction (the write lock is taken before reading).

        `fsync=False` commits to the WAL without waiting for the disk (`synchronous=NORMAL`): durable
        against a crashed process, not a power cut — enough for the request window (a power cut forgets
        at most its last minute), while money keeps `FULL`: the next FULL commit syncs those frames too.
        """
        with self._lock:
            if not fsync:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    work(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if not fsync:
                    self._db.execute("PRAGMA synchronous=FULL")

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
        if not is_bounded(amount):
            raise ValueError(f"a reservation needs a finite, non-negative amount, not {amount}")

        def work(db: sqlite3.Connection) -> None:
            self._expire(db, now)
            for key in keys:
                reason = refusal(key, *self._row(db, key.scope, key.period_key), amount)
                if reason is not None:
                    raise BudgetExceeded(reason)
            for key in keys:
                self._add(db, key.scope, key.period_key, Decimal(0), amount)
            encoded = json.dumps([[key.scope, key.period_key] for key in keys])
            db.execute(
                "INSERT INTO budget_reservations (id, keys, amount, created) VALUES (?, ?, ?, ?)",
                (reservation_id, encoded, str(amount), now),
            )

        self._write(work)

    def _give_back(self, db: sqlite3.Connection, reservation_id: str) -> Decimal:
        """Delete a reservation and take its amount out of `reserved`; the amount (0 if it was gone)."""
        row = db.execute(
            "SELECT keys, amount FROM budget_reservations WHERE id = ?", (reservation_id,)
        ).fetchone()
        if row is None:
            return Decimal(0)
        db.execute("DELETE FROM budget_reservations WHERE id = ?", (reservation_id,))
        amount = Decimal(row[1])
        for scope, period_key in json.loads(row[0]):
            self._add(db, scope, period_key, Decimal(0), -amount)
        return amount

    def settle(self, reservation_id: str, keys: Sequence[BudgetKey], actual: Decimal) -> None:
        def work(db: sqlite3.Connection) -> None:
            self._give_back(db, reservation_id)
            for key in keys:
                self._add(db, key.scope, key.period_key, actual, Decimal(0))

        self._write(work)

    def release(self, reservation_id: str) -> None:
        self._write(lambda db: self._give_back(db, reservation_id))

    def _expire(self, db: sqlite3.Connection, now: float) -> None:
        stale = db.execute(
            "SELECT id FROM budget_reservations WHERE created < ?", (now - STALE_AFTER_S,)
        ).fetchall()
        for (reservation_id,) in stale:
            self._give_back(db, reservation_id)

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

    def take(self, keys: Iterable[RateKey], *, slot_id: str, now: float) -> None:
        keys = list(keys)

        def work(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM rate_slots WHERE id = ?", (slot_id,)).fetchone():
                return
            for key in keys:
                db.execute("DELETE FROM rate_slots WHERE scope = ? AND taken < ?", (key.scope, now - KEPT_S))
                refused = rate_refusal(key, *self._window(db, key, now), now)
                if refused is not None:
                    raise refused
            rows = [(slot_id, key.scope, now) for key in keys]
            db.executemany("INSERT INTO rate_slots (id, scope, taken) VALUES (?, ?, ?)", rows)

        self._write(work, fsync=False)

    @staticmethod
    def _window(db: sqlite3.Connection, key: RateKey, now: float) -> tuple[int, float | None]:
        """Slots in (now − 60 s, now], and the time of the one whose leaving would admit a call."""
        since = now - WINDOW_S
        query = "FROM rate_slots WHERE scope = ? AND taken > ?"
        used = int(db.execute(f"SELECT count(*) {query}", (key.scope, since)).fetchone()[0])
        if used < key.limit:
            return used, None
        row = db.execute(
            f"SELECT taken {query} ORDER BY taken LIMIT 1 OFFSET ?", (key.scope, since, used - key.limit)
        ).fetchone()
        return used, float(row[0]) if row else None

    def give_back(self, slot_id: str) -> None:
        self._write(lambda db: db.execute("DELETE FROM rate_slots WHERE id = ?", (slot_id,)), fsync=False)

    def rates(self, keys: Iterable[RateKey], now: float) -> list[RateStatus]:
        with self._lock:
            return [rate_status(key, *self._window(self._db, key, now), now) for key in keys]

    def close(self) -> None:
        with self._lock:
            self._db.close()
