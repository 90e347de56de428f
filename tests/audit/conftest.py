"""Audit fixtures: a store per backend (SQLite now; a PostgreSQL store joins `BACKENDS` later)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from polyroute.audit import AuditStore, open_store
from polyroute.settings import Settings, load_settings

BACKENDS = ["sqlite"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(sandbox: Path) -> Settings:
    return load_settings()


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[AuditStore]:
    assert request.param == "sqlite"
    opened = open_store(settings)
    yield opened
    await opened.aclose()
