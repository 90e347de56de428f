"""Servers under test run on a real App (sandboxed data dir, real SQLite audit store) and, for routed
calls, against the wire-level fake providers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client

from polyroute.app import App
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders
from polyroute_servers import suite


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def provider_env(fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> FakeProviders:
    """Point every SDK at the fakes, with dummy keys."""
    fakes.clear()
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    return fakes


@pytest.fixture
def app() -> App:
    return App(principal="local:tester")


@pytest.fixture
async def client(app: App) -> AsyncIterator[Client]:
    async with Client(suite.build(app)) as connected:
        yield connected
    await app.aclose()


def app_with(**audit: Any) -> App:
    """An App whose `[audit]` settings are changed, e.g. `log_queries=True`."""
    settings = load_settings()
    changed = settings.audit.model_copy(update=audit)
    return App(settings.model_copy(update={"audit": changed}), principal="local:tester")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
