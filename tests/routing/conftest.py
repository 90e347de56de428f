"""Fixtures for the routing tests: the fakes (once per session) and an App over the test catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from routing_fixtures import Clock, make_app

from polyroute.app import App
from polyroute.budget import Ledger
from polyroute.budget_postgres import PostgresBudgetLedger
from polyroute.budgetfile import SQLiteBudgetLedger
from polyroute.testing import FakeProviders


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Iterator[App]:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    yield make_app(fakes, tmp_path / "data", clock)
    fakes.clear()


@pytest.fixture(params=["sqlite", "postgres"])
def open_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Ledger]]:
    """Opens another replica's ledger (budgets and quotas) on the same store each time it is called: one
    SQLite file, or one real PostgreSQL database."""
    opened: list[Ledger] = []
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None

    def make() -> Ledger:
        ledger = PostgresBudgetLedger(url) if url else SQLiteBudgetLedger(tmp_path / "budget.db")
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()
