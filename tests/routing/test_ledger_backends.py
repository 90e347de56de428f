"""The budget ledger contract on both backends: a SQLite file and a real PostgreSQL database.

Each "replica" is a ledger object of its own (its own connections), as separate processes or hosts
would have; nothing they share lives in process memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import anyio
import psycopg
import pytest

from polyroute.app import App
from polyroute.budget import BudgetKey, BudgetLedger, Budgets, refusal
from polyroute.budget_postgres import PostgresBudgetLedger
from polyroute.errors import BudgetExceeded
from polyroute.settings import Budget, load_settings

NOV_25 = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()
KEY = BudgetKey("team:legal", "day", "2026-11-25", Decimal("1"))
OpenLedger = Callable[[], BudgetLedger]


def test_reserve_settle_release_and_totals(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    other = BudgetKey("principal:alice", "month", "2026-11", Decimal("10"))
    ledger.reserve([KEY, other], Decimal("0.4"), reservation_id="a", now=NOV_25)
    ledger.reserve([KEY], Decimal("0.3"), reservation_id="b", now=NOV_25)
    ledger.settle("a", [KEY, other], Decimal("0.123456789"))
    ledger.release("b")
    team, alice = ledger.totals([KEY, other])
    assert (team.spent_usd, team.reserved_usd, team.remaining_usd) == (
        Decimal("0.123456789"),
        0,
        Decimal("0.876543211"),
    )
    assert (alice.spent_usd, alice.reserved_usd) == (Decimal("0.123456789"), 0)


def test_a_refused_reservation_reserves_nothing_on_any_key(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    roomy = BudgetKey("principal:alice", "month", "2026-11", Decimal("100"))
    ledger.reserve([KEY], Decimal("0.9"), reservation_id="a", now=NOV_25)
    with pytest.raises(BudgetExceeded) as refused:
        ledger.reserve([roomy, KEY], Decimal("0.2"), reservation_id="b", now=NOV_25)
    assert str(refused.value) == refusal(KEY, Decimal(0), Decimal("0.9"), Decimal("0.2"))  # same words
    assert [s.reserved_usd for s in ledger.totals([KEY, roomy])] == [Decimal("0.9"), 0]


def test_once_the_limit_is_reached_even_a_free_call_is_refused(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    ledger.reserve([KEY], Decimal("0.5"), reservation_id="a", now=NOV_25)
    ledger.settle("a", [KEY], Decimal("1"))
    with pytest.raises(BudgetExceeded) as refused:
        ledger.reserve([KEY], Decimal("0"), reservation_id="b", now=NOV_25)
    assert str(refused.value) == refusal(KEY, Decimal(1), Decimal(0), Decimal(0))
    assert "is used up" in str(refused.value)


@pytest.mark.parametrize("amount", [Decimal("-0.01"), Decimal("Infinity"), Decimal("NaN")])
def test_an_unbounded_reservation_is_a_programming_error(open_ledger: OpenLedger, amount: Decimal) -> None:
    ledger = open_ledger()
    with pytest.raises(ValueError, match="finite, non-negative"):
        ledger.reserve([KEY], amount, reservation_id="a", now=NOV_25)
    assert ledger.totals([KEY])[0].reserved_usd == 0


def test_actual_cost_above_the_reservation_is_counted(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    ledger.reserve([KEY], Decimal("0.1"), reservation_id="a", now=NOV_25)
    ledger.settle("a", [KEY], Decimal("0.25"))
    (status,) = ledger.totals([KEY])
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.25"), 0)


def test_stale_reservations_are_given_back(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    ledger.reserve([KEY], Decimal("1"), reservation_id="dead", now=NOV_25)
    with pytest.raises(BudgetExceeded):
        ledger.reserve([KEY], Decimal("0.5"), reservation_id="a", now=NOV_25)
    ledger.reserve([KEY], Decimal("0.5"), reservation_id="b", now=NOV_25 + 16 * 60)
    ledger.settle("dead", [KEY], Decimal("0.2"))  # the call finished after all: its cost still counts
    (status,) = ledger.totals([KEY])
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.2"), Decimal("0.5"))


def test_totals_survive_reopening(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    ledger.reserve([KEY], Decimal("0.5"), reservation_id="a", now=NOV_25)
    ledger.settle("a", [KEY], Decimal("0.000000000001"))
    ledger.close()
    (status,) = open_ledger().totals([KEY])
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.000000000001"), 0)


def test_replicas_racing_never_overspend(open_ledger: OpenLedger) -> None:
    """8 replicas, 12 calls each, every reservation fought over: spend stays under the limit."""
    amount, actual = Decimal("0.03"), Decimal("0.021")
    granted: list[str] = []
    refused: list[str] = []
    replicas = [open_ledger() for _ in range(8)]
    start = threading.Barrier(len(replicas))

    def replica(index: int) -> None:
        start.wait()
        for call in range(12):
            name = f"r{index}-{call}"
            try:
                replicas[index].reserve([KEY], amount, reservation_id=name, now=NOV_25)
            except BudgetExceeded:
                refused.append(name)
                continue
            granted.append(name)
            replicas[index].settle(name, [KEY], actual)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (status,) = open_ledger().totals([KEY])
    assert len(granted) + len(refused) == 96
    assert status.spent_usd == actual * len(granted) and status.reserved_usd == 0
    assert status.spent_usd <= KEY.limit_usd
    assert len(granted) >= 33  # settled calls free their unused reservation for later callers


@pytest.fixture
def pg_ledger(postgres_url: str) -> Iterator[PostgresBudgetLedger]:
    ledger = PostgresBudgetLedger(postgres_url)
    yield ledger
    ledger.close()


def test_a_retried_reserve_or_settle_counts_once(pg_ledger: PostgresBudgetLedger) -> None:
    """What a retry after a lost acknowledgement does: the reservation id makes both idempotent."""
    for _ in range(2):
        pg_ledger.reserve([KEY], Decimal("0.4"), reservation_id="a", now=NOV_25)
    assert pg_ledger.totals([KEY])[0].reserved_usd == Decimal("0.4")
    for _ in range(2):
        pg_ledger.settle("a", [KEY], Decimal("0.3"))
    (status,) = pg_ledger.totals([KEY])
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.3"), 0)


def test_the_ledger_follows_a_postgres_audit_store(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", postgres_url)
    config = load_settings().model_copy(
        update={"budgets": [Budget(scope="principal:alice", period="day", limit_usd=Decimal("1"))]}
    )
    budgets = Budgets(config, clock=lambda: NOV_25)
    reservation = budgets.reserve("alice", Decimal("0.6"))
    assert isinstance(budgets.ledger, PostgresBudgetLedger)
    assert not (config.data_dir / "budget.db").exists()
    replica = Budgets(config, clock=lambda: NOV_25)
    with pytest.raises(BudgetExceeded):
        replica.reserve("alice", Decimal("0.6"))
    budgets.settle(reservation, Decimal("0.1"))
    assert replica.reserve("alice", Decimal("0.6")) is not None
    anyio.run(budgets.aclose)
    anyio.run(replica.aclose)


def _sessions(url: str) -> int:
    """Client connections to the database other than this one (the ledger's pool, the audit store's);
    not the server's own workers (autovacuum) that visit it."""
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_closing_the_app_closes_the_ledger_pool(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", postgres_url)
    config = load_settings().model_copy(
        update={"budgets": [Budget(scope="principal:alice", period="day", limit_usd=Decimal("1"))]}
    )
    app = App(config)
    app.router.budgets.reserve("alice", Decimal("0.1"))
    assert isinstance(app.router.budgets.ledger, PostgresBudgetLedger) and _sessions(postgres_url) >= 1
    anyio.run(app.aclose)
    deadline = time.monotonic() + 10
    while _sessions(postgres_url) and time.monotonic() < deadline:  # a session ends a moment later
        time.sleep(0.05)
    assert _sessions(postgres_url) == 0
