"""Budgets per principal and per team, per day and per month, in USD.

A call reserves its quote's maximum before any provider sees it and settles with the actual cost after
(or releases the reservation when it failed). The ledger is durable and shared — `budget.db` under the
data dir (0600), see `budgetfile` — so concurrent calls, processes and replicas on one machine see one
set of totals; `BudgetLedger` is the seam a PostgreSQL ledger implements. Amounts are Decimal end to end.

The invariant (docs/routing.md, tests/routing/test_budget.py): a reservation is granted only while
spent + reserved + amount <= limit, and spending is recorded as it happened, even above the reservation.
So spent can pass a limit only by what the calls in flight at the last grant spent above their
reservations: overrun <= sum over those calls of (actual − reserved). It is 0 when every reservation
bounds its call, and once spent reaches the limit nothing more is granted until the period resets.
A cost with no upper bound cannot keep that promise, so it is refused wherever a budget applies.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import anyio
from pydantic import BaseModel

from polyroute.errors import BudgetExceeded
from polyroute.quota import RateLedger
from polyroute.settings import Budget, Settings
from polyroute.types import Money

STALE_AFTER_S = 15 * 60  # a reservation this old belongs to a call that died: give the money back


@dataclass(frozen=True)
class BudgetKey:
    """One budget in one period: e.g. ("team:legal", "month", "2026-11") with its limit."""

    scope: str
    period: str
    period_key: str
    limit_usd: Decimal

    @property
    def name(self) -> str:
        return f"{self.scope} per {self.period} ({self.period_key})"

    @property
    def resets_at(self) -> datetime:
        """When the next period starts (UTC calendar day or month)."""
        if self.period == "day":
            return datetime.strptime(self.period_key, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
        year, month = (int(part) for part in self.period_key.split("-"))
        return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


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


def usd(amount: Decimal) -> str:
    """An amount as a person reads it: `$0.0000001`, never `$1E-7`."""
    return f"${amount.normalize():f}"


def is_bounded(amount: Decimal | None) -> bool:
    """True for a cost that can be held to a budget: known, finite, not negative."""
    return amount is not None and amount.is_finite() and amount >= 0


def refusal(key: BudgetKey, spent: Decimal, reserved: Decimal, amount: Decimal) -> str | None:
    """Why reserving `amount` on `key` (with these totals) must be refused, or None when it may go ahead.

    The one rule every ledger applies inside its transaction: refused when the limit is already reached
    (spent + reserved >= limit: calls may have overrun their reservations) or would be passed.
    """
    if spent + reserved >= key.limit_usd:
        totals, resets = _totals(key, spent, reserved)
        return f"budget {key.name} is used up: {totals}; no new call until {resets}"
    if spent + reserved + amount > key.limit_usd:
        totals, resets = _totals(key, spent, reserved)
        call = f"this call may cost up to {usd(amount)}"
        return f"budget {key.name} would be exceeded: {totals}, {call}; {resets}"
    return None  # decided before any words are written: a routing decision asks once per deployment


def _totals(key: BudgetKey, spent: Decimal, reserved: Decimal) -> tuple[str, str]:
    totals = f"limit {usd(key.limit_usd)}, spent {usd(spent)}, reserved {usd(reserved)} for calls in flight"
    return totals, f"it resets at {key.resets_at:%Y-%m-%d %H:%M} UTC"


class BudgetLedger(Protocol):
    """Durable totals per (scope, period_key) — `spent` and `reserved`, exact Decimals, (0, 0) for a key
    never used — shared by every process and replica that opens the same store.

    Each method is one atomic transaction, serialised against every other write to the same totals
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: e.g. SELECT … FOR UPDATE on the rows, taken in a fixed order),
    so a check and the reservation it allows cannot interleave with another reserve.
    """

    def reserve(self, keys: Sequence[BudgetKey], amount: Decimal, *, reservation_id: str, now: float) -> None:
        """Reserve `amount` (finite, >= 0; else ValueError) on every key, or reserve nothing.

        First gives back every reservation created before `now - STALE_AFTER_S` (as `release`). Then, if
        `refusal(key, spent, reserved, amount)` names a reason for any key, raises BudgetExceeded with
        that reason and changes nothing; otherwise adds `amount` to `reserved` on every key and stores
        the reservation (id, its keys, amount, `now`).
        """
        ...

    def settle(self, reservation_id: str, keys: Sequence[BudgetKey], actual: Decimal) -> None:
        """Record `actual` as spent on `keys`, whatever it is — above the reservation or the limit too:
        spending has happened and is never refused — and drop the reservation (its amount leaves
        `reserved`). A reservation already given back as stale still has `actual` counted. Called once
        per reservation: a second settle would count `actual` twice."""
        ...

    def release(self, reservation_id: str) -> None:
        """Drop the reservation (its amount leaves `reserved` on its keys); an unknown id does nothing."""
        ...

    def totals(self, keys: Sequence[BudgetKey]) -> list[BudgetStatus]:
        """Current spent / reserved per key, in the order given; remaining = limit − spent − reserved."""
        ...

    def close(self) -> None:
        """Release the file or connection pool (blocking); the ledger is not used afterwards."""
        ...


class Ledger(BudgetLedger, RateLedger, Protocol):
    """The store of every limit: spend (`BudgetLedger`) and the request window (`quota.RateLedger`)."""


def _open_ledger(settings: Settings) -> Ledger:
    """PostgreSQL when the audit store (or POLYROUTE_BUDGET_URL) is, else the SQLite file."""
    from polyroute.pgconfig import ledger_url

    url = ledger_url(settings)
    if url is None:
        from polyroute.budgetfile import SQLiteBudgetLedger

        return SQLiteBudgetLedger(settings.data_dir / "budget.db")
    from polyroute.budget_postgres import PostgresBudgetLedger

    return PostgresBudgetLedger(url)


def period_key(period: str, when: datetime) -> str:
    return when.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def spend_keys(
    budgets: Iterable[Budget], when: datetime, scopes: frozenset[str] | None = None
) -> list[BudgetKey]:
    """The spend limits among `budgets` (of `scopes`; None: all) as keys for the periods around `when`."""
    return [
        BudgetKey(b.scope, b.period, period_key(b.period, when), b.limit_usd)
        for b in budgets
        if b.period is not None and b.limit_usd is not None and (scopes is None or b.scope in scopes)
    ]


def limits_spend(settings: Settings) -> bool:
    return any(budget.limit_usd is not None for budget in settings.budgets)


@dataclass(frozen=True)
class Headroom:
    """What is left for new calls: the least remaining across a principal's budgets, never below 0."""

    left: Decimal
    key: BudgetKey
    status: BudgetStatus

    def refusal(self, most: Decimal | None) -> str | None:
        """Why a call that may cost up to `most` cannot be planned, or None when it fits."""
        if most is None or not is_bounded(most):
            return f"cannot be called: {unbounded(self.key)}"
        reason = refusal(self.key, self.status.spent_usd, self.status.reserved_usd, most)
        return None if reason is None else f"cannot be called: {reason}"


def unbounded(key: BudgetKey) -> str:
    return (
        f"its cost has no upper bound (no price, or an estimate without a finite maximum), so it cannot be "
        f"held to budget {key.name} (limit {usd(key.limit_usd)}): refused"
    )


class Budgets:
    """The configured budgets applied to principals: which keys a call counts against, and the ledger."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.clock = clock
        self._ledger = ledger
        self._opened: Ledger | None = None  # the ledger this object opened, so is to close
        self._opening = threading.Lock()

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use (from whichever thread gets there first, once)."""
        with self._opening:
            if self._ledger is None:
                self._ledger = self._opened = _open_ledger(self.settings)
            return self._ledger

    async def aclose(self) -> None:
        """Close the ledger this object opened (the PostgreSQL pool, the SQLite file); a ledger passed in
        is its owner's to close. A later call opens it again."""
        with self._opening:
            opened, self._opened = self._opened, None
            if opened is not None:
                self._ledger = None
        if opened is not None:
            await anyio.to_thread.run_sync(opened.close)

    def keys_for(self, principal: str, teams: Iterable[str] = ()) -> list[BudgetKey]:
        """Every spend limit of this principal and of its teams (its `[teams]` and those its identity
        carries: `Settings.limit_scopes`), for the current periods."""
        when = datetime.fromtimestamp(self.clock(), UTC)
        return spend_keys(self.settings.budgets, when, self.settings.limit_scopes(principal, teams))

    def headroom(self, principal: str, teams: Iterable[str] = ()) -> Headroom | None:
        """The budget with the least remaining (a limit lowered under what was spent counts as 0 left);
        None when no budget applies."""
        keys = self.keys_for(principal, teams) if limits_spend(self.settings) else []
        if not keys:
            return None
        key, status = min(zip(keys, self.ledger.totals(keys), strict=True), key=lambda t: t[1].remaining_usd)
        return Headroom(max(Decimal(0), status.remaining_usd), key, status)

    def reserve(
        self, principal: str, amount: Decimal | None, teams: Iterable[str] = ()
    ) -> Reservation | None:
        """Reserve `amount` on every budget of the principal; None when no budget applies.

        Raises BudgetExceeded (and reserves nothing) when any budget is used up or would go over its
        limit, or when `amount` has no finite upper bound (None, infinite, NaN) and a budget applies.
        """
        keys = self.keys_for(principal, teams) if limits_spend(self.settings) else []
        if not keys:
            return None
        if amount is None or not is_bounded(amount):
            raise BudgetExceeded(f"no call made: {unbounded(keys[0])}")
        reservation = Reservation(uuid.uuid4().hex, tuple(keys), amount)
        self.ledger.reserve(keys, amount, reservation_id=reservation.id, now=self.clock())
        return reservation

    def settle(self, reservation: Reservation | None, actual: Decimal) -> None:
        if reservation is not None:
            self.ledger.settle(reservation.id, reservation.keys, actual)

    def release(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            self.ledger.release(reservation.id)

    async def reserve_async(
        self, principal: str, amount: Decimal | None, teams: Iterable[str] = ()
    ) -> Reservation | None:
        """`reserve` off the event loop (the ledger fsyncs); no thread hop when no budget is configured."""
        if not limits_spend(self.settings):
            return None
        return await anyio.to_thread.run_sync(self.reserve, principal, amount, tuple(teams))

    async def settle_async(self, reservation: Reservation | None, actual: Decimal) -> None:
        if reservation is not None:
            await anyio.to_thread.run_sync(self.settle, reservation, actual)

    async def release_async(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            await anyio.to_thread.run_sync(self.release, reservation)

    def status(self, principal: str, teams: Iterable[str] = ()) -> list[BudgetStatus]:
        """Each budget of the principal with spent, reserved and remaining USD (for `budget_status`)."""
        keys = self.keys_for(principal, teams)
        return self.ledger.totals(keys) if keys else []
