"""Telemetry tests: the fakes once per session, an App over the routing tests' small catalog, and a
notice in the summary when the real-Prometheus test could not run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.routing.routing_fixtures import Clock, make_app

from polyroute.app import App
from polyroute.testing import FakeProviders


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def app(fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    yield make_app(fakes, tmp_path / "data", Clock())
    fakes.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if any("Prometheus is not installed" in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_line(
            "NOTICE: the real-Prometheus scrape test was skipped: apt-get install prometheus", yellow=True
        )
