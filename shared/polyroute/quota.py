"""Requests per minute per principal and per team: a sliding 60-second window in the ledger's store.

Configured on `[[budgets]]` entries (`requests_per_minute`) beside the spend limits, for the same
scopes: a call counts against its principal's quota and each of its teams' (`Settings.limit_scopes`).

Sliding, not a fixed minute: a fixed minute lets a caller send its whole allowance at 12:00:59 and again
at 12:01:00 — twice the limit within two seconds. Here a call is admitted only while fewer than `limit`
calls were admitted in the 60 s before it, so no 60 s span ever holds more than `limit` admitted calls.
Only admitted calls take a slot: a call the quota refuses takes none (a caller that retries too early is
told again when to come back, never locked out by its own retries), and neither does a call refused for
another reason (policy, budget, no route: the dispatcher asks for a slot only once the plan has
candidates, and gives it back when the budget then stops every attempt).

The window lives where the budget ledger does — the SQLite `budget.db` shared by every process on the
machine, or PostgreSQL shared by replicas — and is checked and taken in one transaction serialised per
scope, so N replicas together admit at most `limit` calls per window (tests/routing/test_quota_store.py).
Slot times come from the callers' clocks: replicas should keep theirs in sync (NTP), as for budgets.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import anyio
from pydantic import BaseModel, Field

from polyroute.errors import QuotaExceeded
from polyroute.settings import Settings

WINDOW_S = 60.0
KEPT_S = 2 * WINDOW_S  # slots are swept a window late, so a replica whose clock runs ahead counts them still


@dataclass(frozen=True)
class RateKey:
    """One quota: e.g. ("team:legal", 120) — at most 120 calls admitted in any 60 s."""

    scope: str
    limit: int


@dataclass(frozen=True)
class Slot:
    """The place one admitted call took in the window of every quota it counts against."""

    id: str
    keys: tuple[RateKey, ...]


class RateStatus(BaseModel):
    scope: str
    requests_per_minute: int
    used: int = Field(description="calls admitted in the last 60 s")
    retry_after_s: int = Field(description="seconds until a call is admitted again; 0: one may go now")


def who(scope: str) -> str:
    """`principal:http:bot` → `principal http:bot`; `team:legal` → `team legal` (for messages)."""
    kind, _, name = scope.partition(":")
    return f"{kind} {name}"


def rate_refusal(key: RateKey, used: int, blocking: float | None, now: float) -> QuotaExceeded | None:
    """Why a call at `now` may not take a slot on `key`, or None when it may: the one rule every ledger
    applies inside its transaction.

    `used` is how many slots were taken in (now − 60 s, now]; when `used >= limit`, `blocking` is the
    time of the slot whose leaving the window frees room for this call (the (used − limit + 1)-th
    oldest), so the call is admitted from `blocking + 60 s` on, unless others take the room first.
    """
    if used < key.limit:
        return None
    frees_at = (blocking if blocking is not None else now) + WINDOW_S
    wait = max(1, math.ceil(frees_at - now))
    when = datetime.fromtimestamp(frees_at, UTC)
    message = (
        f"no call made: the requests-per-minute quota of {who(key.scope)} is used up ({key.limit} per "
        f"minute, {used} calls in the last 60 s); retry in {wait} s, at {when:%Y-%m-%d %H:%M:%S} UTC"
    )
    return QuotaExceeded(message, scope=key.scope, limit=key.limit, retry_after_s=wait, retry_at=frees_at)


def rate_status(key: RateKey, used: int, blocking: float | None, now: float) -> RateStatus:
    refused = rate_refusal(key, used, blocking, now)
    wait = 0 if refused is None else refused.retry_after_s
    return RateStatus(scope=key.scope, requests_per_minute=key.limit, used=used, retry_after_s=wait)


class RateLedger(Protocol):
    """The request window of each scope, in the same store (and with the same sharing) as the budget
    ledger. Each method is one transaction, serialised per scope against every other `take`."""

    def take(self, keys: Iterable[RateKey], *, slot_id: str, now: float) -> None:
        """Take a slot at `now` on every key, or none: raises the QuotaExceeded `rate_refusal` names for
        the first key (in the order given) that refuses. Sweeps slots older than `now - KEPT_S`. A
        `slot_id` already taken does nothing (a retry whose first commit's acknowledgement was lost)."""
        ...

    def give_back(self, slot_id: str) -> None:
        """Drop the slot on every key (a call refused after it was admitted); an unknown id does nothing."""
        ...

    def rates(self, keys: Iterable[RateKey], now: float) -> list[RateStatus]:
        """Each key's use of its window at `now`, in the order given."""
        ...


class Quotas:
    """The configured requests-per-minute quotas applied to callers, on the ledger's store."""

    def __init__(
        self, settings: Settings, ledger: Callable[[], RateLedger], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._ledger = ledger  # opened on first use, shared with the budgets (one file or pool)

    def keys_for(self, principal: str, teams: Iterable[str] = ()) -> list[RateKey]:
        """Every quota of the principal and of its teams (configured ∪ carried by its identity)."""
        limited = [b for b in self.settings.budgets if b.requests_per_minute is not None]
        if not limited:
            return []
        scopes = self.settings.limit_scopes(principal, teams)
        tightest: dict[str, int] = {}  # two entries for one scope: the lower limit holds
        for budget in limited:
            rpm = budget.requests_per_minute
            if rpm is not None and budget.scope in scopes:
                tightest[budget.scope] = min(rpm, tightest.get(budget.scope, rpm))
        return [RateKey(scope, limit) for scope, limit in sorted(tightest.items())]

    def take(self, principal: str, teams: Iterable[str] = ()) -> Slot | None:
        """A slot on every quota of the caller; None when none applies. Raises QuotaExceeded (taking
        nothing) naming the quota and when to retry."""
        keys = self.keys_for(principal, teams)
        return self._take(keys) if keys else None

    def _take(self, keys: list[RateKey]) -> Slot:
        slot = Slot(uuid.uuid4().hex, tuple(keys))
        self._ledger().take(keys, slot_id=slot.id, now=self.clock())
        return slot

    async def take_async(self, principal: str, teams: Iterable[str] = ()) -> Slot | None:
        """`take` off the event loop (the ledger writes); no thread hop when no quota applies."""
        keys = self.keys_for(principal, teams)
        return await anyio.to_thread.run_sync(self._take, keys) if keys else None

    async def give_back_async(self, slot: Slot | None) -> None:
        if slot is not None:
            await anyio.to_thread.run_sync(self._ledger().give_back, slot.id)

    def status(self, principal: str, teams: Iterable[str] = ()) -> list[RateStatus]:
        """Each quota of the caller with its use of the window (for `budget_status`)."""
        keys = self.keys_for(principal, teams)
        return self._ledger().rates(keys, self.clock()) if keys else []
