"""Fixtures for the routing tests: the fakes (once per session) and an App over the test catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from routing_fixtures import Clock, make_app

from polyroute.app import App
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
