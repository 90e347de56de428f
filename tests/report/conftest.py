"""Fixtures for the report tests: the fakes (once per session) and an App whose log holds real routed
calls, written to the sandbox's data dir so the `polyroute report` CLI reads the same store."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from report_fixtures import Logged, report_app, routed_calls
from tests.servers.chromium import terminal_notice

from polyroute.testing import FakeProviders


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def logged(fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Logged]:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    app = report_app(fakes, Path(os.environ["POLYROUTE_DATA_DIR"]))
    receipts = await routed_calls(app, fakes)
    try:
        yield Logged(app, receipts)
    finally:
        await app.aclose()
        fakes.clear()


@pytest.fixture
def written_log(fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The same calls, written and closed (for tests that run the CLI, which runs its own event loop)."""
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()

    async def write() -> dict[str, list[str]]:
        app = report_app(fakes, Path(os.environ["POLYROUTE_DATA_DIR"]))
        try:
            return await routed_calls(app, fakes)
        finally:
            await app.aclose()

    try:
        return anyio.run(write)
    finally:
        fakes.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminal_notice(terminalreporter)
