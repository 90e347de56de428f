"""Simulation tests replay logs recorded through the real router (wire fakes, real SQLite store)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sim_fixtures import make_app, record_calls

from polyroute.app import App
from polyroute.testing import FakeProviders


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def recorded(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[App]:
    """An App whose audit log holds the calls of `sim_fixtures.MIX` (two of them refused)."""
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    app = make_app(fakes, tmp_path)
    assert await record_calls(app) == 2
    yield app
    await app.aclose()
