"""The budget ledger on a real SQLite file: reserve, settle, release, periods, and no overspend."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polyroute.budget import BudgetKey, Budgets
from polyroute.budgetfile import SQLiteBudgetLedger
from polyroute.errors import BudgetExceeded
from polyroute.settings import Budget, Settings


def settings(tmp_path: Path, *budgets: Budget) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", budgets=list(budgets), teams={"legal": ["alice", "bob"], "ops": ["carol"]}
    )


NOV_25 = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()


def test_no_budget_means_no_reservation_and_no_ledger_file(tmp_path: Path) -> None:
    budgets = Budgets(settings(tmp_path))
    assert budgets.reserve("alice", Decimal("1000")) is None
    assert budgets.headroom("alice") is None
    assert not (tmp_path / "data" / "budget.db").exists()


def test_principal_and_team_budgets_both_apply(tmp_path: Path) -> None:
    config = settings(
        tmp_path,
        Budget(scope="principal:alice", period="day", limit_usd=Decimal("1")),
        Budget(scope="team:legal", period="month", limit_usd=Decimal("1.5")),
        Budget(scope="team:ops", period="month", limit_usd=Decimal("0.01")),
    )
    budgets = Budgets(config, clock=lambda: NOV_25)
    assert [(k.scope, k.period_key) for k in budgets.keys_for("alice")] == [
        ("principal:alice", "2026-11-25"),
        ("team:legal", "2026-11"),
    ]
    first = budgets.reserve("alice", Decimal("0.9"))
    budgets.settle(first, Decimal("0.25"))
    second = budgets.reserve("bob", Decimal("1.2"))  # team budget: 0.25 spent + 1.2 ≤ 1.5
    assert second is not None
    over = r"team:legal per month \(2026-11\) would be exceeded: limit \$1\.5, spent \$0\.25, reserved \$1\.2"
    with pytest.raises(BudgetExceeded, match=over):
        budgets.reserve("alice", Decimal("0.1"))
    budgets.release(second)
    status = {s.scope: s for s in budgets.status("alice")}
    assert status["principal:alice"].spent_usd == Decimal("0.25")
    assert status["team:legal"].reserved_usd == 0
    assert status["team:legal"].remaining_usd == Decimal("1.25")
    headroom = budgets.headroom("alice")
    assert headroom is not None and headroom.key.scope == "principal:alice"
    assert headroom.left == Decimal("0.75")


def test_headroom_is_never_negative_after_a_limit_is_lowered(tmp_path: Path) -> None:
    def daily(limit: str) -> Budgets:
        budget = Budget(scope="principal:alice", period="day", limit_usd=Decimal(limit))
        return Budgets(settings(tmp_path, budget), clock=lambda: NOV_25)

    budgets = daily("1")
    budgets.settle(budgets.reserve("alice", Decimal("0.9")), Decimal("0.9"))
    headroom = daily("0.5").headroom("alice")
    assert headroom is not None and headroom.left == 0


def test_refused_reservation_reserves_nothing(tmp_path: Path) -> None:
    config = settings(
        tmp_path,
        Budget(scope="principal:alice", period="day", limit_usd=Decimal("10")),
        Budget(scope="team:legal", period="day", limit_usd=Decimal("0.5")),
    )
    budgets = Budgets(config, clock=lambda: NOV_25)
    with pytest.raises(BudgetExceeded):
        budgets.reserve("alice", Decimal("0.6"))
    assert all(s.reserved_usd == 0 for s in budgets.status("alice"))


def test_new_day_starts_a_new_period(tmp_path: Path) -> None:
    now = [NOV_25]
    config = settings(tmp_path, Budget(scope="principal:carol", period="day", limit_usd=Decimal("1")))
    budgets = Budgets(config, clock=lambda: now[0])
    budgets.settle(budgets.reserve("carol", Decimal("1")), Decimal("1"))
    with pytest.raises(BudgetExceeded):
        budgets.reserve("carol", Decimal("0.01"))
    now[0] += 86400
    assert budgets.reserve("carol", Decimal("0.99")) is not None


def test_stale_reservations_are_given_back(tmp_path: Path) -> None:
    now = [NOV_25]
    config = settings(tmp_path, Budget(scope="principal:carol", period="month", limit_usd=Decimal("1")))
    budgets = Budgets(config, clock=lambda: now[0])
    budgets.reserve("carol", Decimal("1"))  # the caller dies without settling
    with pytest.raises(BudgetExceeded):
        budgets.reserve("carol", Decimal("0.5"))
    now[0] += 16 * 60
    assert budgets.reserve("carol", Decimal("0.5")) is not None


def test_ledger_survives_reopen(tmp_path: Path) -> None:
    key = BudgetKey("principal:x", "month", "2026-11", Decimal("5"))
    ledger = SQLiteBudgetLedger(tmp_path / "b.db")
    ledger.reserve([key], Decimal("2"), reservation_id="r1", now=NOV_25)
    ledger.settle("r1", [key], Decimal("1.234567891234"))
    ledger.close()
    (status,) = SQLiteBudgetLedger(tmp_path / "b.db").totals([key])
    assert status.spent_usd == Decimal("1.234567891234")
    assert status.reserved_usd == 0


def test_threads_with_separate_connections_never_overspend(tmp_path: Path) -> None:
    """50 writers, each with its own connection to one file (as separate processes would be)."""
    key = BudgetKey("team:legal", "day", "2026-11-25", Decimal("1"))
    amount, actual = Decimal("0.03"), Decimal("0.021")
    granted: list[str] = []
    refused: list[str] = []

    def worker(index: int) -> None:
        ledger = SQLiteBudgetLedger(tmp_path / "shared.db")
        try:
            ledger.reserve([key], amount, reservation_id=f"r{index}", now=NOV_25)
        except BudgetExceeded:
            refused.append(f"r{index}")
        else:
            granted.append(f"r{index}")
            ledger.settle(f"r{index}", [key], actual)
        finally:
            ledger.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (status,) = SQLiteBudgetLedger(tmp_path / "shared.db").totals([key])
    assert len(granted) + len(refused) == 50
    assert status.spent_usd == actual * len(granted)
    assert status.reserved_usd == 0
    assert status.spent_usd <= key.limit_usd
    assert len(granted) >= 33  # settled calls free their unused reservation for later callers


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.5"), places=6),
            st.sampled_from(["settle", "release", "keep"]),
            st.decimals(min_value=Decimal("0"), max_value=Decimal("0.6"), places=6),
        ),
        max_size=25,
    )
)
def test_ledger_invariants_over_random_sequences(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[Decimal, str, Decimal]]
) -> None:
    """Granted reservations never take spent + reserved past the limit at reserve time; settled and
    released money leaves `reserved`; totals are the exact decimal sums."""
    key = BudgetKey("principal:p", "day", "2026-11-25", Decimal("2"))
    ledger = SQLiteBudgetLedger(tmp_path_factory.mktemp("ledger") / "b.db")
    spent, kept = Decimal(0), Decimal(0)
    for index, (amount, outcome, actual) in enumerate(steps):
        (before,) = ledger.totals([key])
        try:
            ledger.reserve([key], amount, reservation_id=f"r{index}", now=NOV_25)
        except BudgetExceeded:
            assert before.spent_usd + before.reserved_usd + amount > key.limit_usd
            continue
        assert before.spent_usd + before.reserved_usd + amount <= key.limit_usd
        if outcome == "settle":
            ledger.settle(f"r{index}", [key], actual)
            spent += actual
        elif outcome == "release":
            ledger.release(f"r{index}")
        else:
            kept += amount
    (after,) = ledger.totals([key])
    ledger.close()
    assert (after.spent_usd, after.reserved_usd) == (spent, kept)


def test_a_reached_limit_refuses_even_a_free_call_and_says_when_it_resets(tmp_path: Path) -> None:
    config = settings(tmp_path, Budget(scope="team:legal", period="day", limit_usd=Decimal("0.01")))
    budgets = Budgets(config, clock=lambda: NOV_25)
    budgets.settle(budgets.reserve("alice", Decimal("0.001")), Decimal("0.0123"))  # above its reservation
    (status,) = budgets.status("alice")
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (
        Decimal("0.0123"), 0, Decimal("-0.0023")
    )  # fmt: skip
    with pytest.raises(BudgetExceeded) as refused:
        budgets.reserve("bob", Decimal(0))
    assert str(refused.value) == (
        "budget team:legal per day (2026-11-25) is used up: limit $0.01, spent $0.0123, reserved $0 for "
        "calls in flight; no new call until it resets at 2026-11-26 00:00 UTC"
    )


def test_tiny_amounts_are_written_out_not_in_exponent_form(tmp_path: Path) -> None:
    config = settings(tmp_path, Budget(scope="principal:carol", period="month", limit_usd=Decimal("1E-7")))
    with pytest.raises(BudgetExceeded, match=r"limit \$0\.0000001, .* may cost up to \$0\.000002;"):
        Budgets(config, clock=lambda: NOV_25).reserve("carol", Decimal("2E-6"))


@pytest.mark.parametrize(
    ("period", "key", "resets"),
    [
        ("day", "2026-11-30", datetime(2026, 12, 1, tzinfo=UTC)),
        ("day", "2026-12-31", datetime(2027, 1, 1, tzinfo=UTC)),
        ("month", "2026-11", datetime(2026, 12, 1, tzinfo=UTC)),
        ("month", "2026-12", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods_reset_at_the_next_utc_day_or_month(period: str, key: str, resets: datetime) -> None:
    assert BudgetKey("team:x", period, key, Decimal(1)).resets_at == resets


@pytest.mark.parametrize("amount", [None, Decimal("Infinity"), Decimal("NaN"), Decimal("-0.01")])
def test_an_unbounded_cost_is_refused_only_where_a_budget_applies(
    tmp_path: Path, amount: Decimal | None
) -> None:
    config = settings(tmp_path, Budget(scope="team:ops", period="day", limit_usd=Decimal("5")))
    budgets = Budgets(config, clock=lambda: NOV_25)
    with pytest.raises(BudgetExceeded, match=r"no upper bound .* budget team:ops per day \(2026-11-25\)"):
        budgets.reserve("carol", amount)
    assert budgets.reserve("alice", amount) is None  # no budget applies to alice: nothing to hold
    assert all(s.reserved_usd == 0 for s in budgets.status("carol"))
    headroom = budgets.headroom("carol")
    assert headroom is not None and "no upper bound" in (headroom.refusal(amount) or "")
    with pytest.raises(ValueError, match="finite"):  # the ledger itself never stores one either
        budgets.ledger.reserve(budgets.keys_for("carol"), amount or Decimal("NaN"), reservation_id="x", now=0)


def test_the_ledger_file_and_its_wal_are_private(tmp_path: Path) -> None:
    config = settings(tmp_path, Budget(scope="team:ops", period="day", limit_usd=Decimal("5")))
    budgets = Budgets(config, clock=lambda: NOV_25)
    budgets.settle(budgets.reserve("carol", Decimal("1")), Decimal("0.5"))
    files = [tmp_path / "data" / name for name in ("budget.db", "budget.db-wal", "budget.db-shm")]
    assert [stat.S_IMODE(path.stat().st_mode) for path in files] == [0o600] * 3
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) & 0o077 == 0


def test_a_ledger_file_left_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old" / "budget.db"
    SQLiteBudgetLedger(path).close()
    os.chmod(path, 0o644)  # what an older version, following the umask, created
    SQLiteBudgetLedger(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
