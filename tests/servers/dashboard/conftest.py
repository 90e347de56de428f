"""The dashboard tests share one served suite with real routed calls (see dashboard_serving.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboard_serving import Site, site
from tests.servers.chromium import terminal_notice

from polyroute.testing import FakeProviders


@pytest.fixture
def served(provider_env: FakeProviders) -> Iterator[Site]:
    with site() as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminal_notice(terminalreporter)
