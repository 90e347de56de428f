"""Audit fixtures: every store test runs once per backend (a SQLite file, a PostgreSQL database).

The backend is chosen through the environment (`POLYROUTE_AUDIT_URL`), exactly as a user chooses it,
so `open_store(settings)`, the CLI and worker processes started by a test all use the same store.
A test about one backend's own mechanics (file modes, PRAGMAs) is marked `sqlite_only`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from polyroute.audit import AuditStore, open_store
from polyroute.settings import Settings, load_settings

BACKENDS = ["sqlite", "postgres"]


def _sqlite_only_on_postgres(item: pytest.Item) -> bool:
    backend = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
    return backend == "postgres" and item.get_closest_marker("sqlite_only") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about SQLite's own mechanics are not run (and reported deselected) for PostgreSQL."""
    dropped = [item for item in items if _sqlite_only_on_postgres(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _sqlite_only_on_postgres(item)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "postgres":
        monkeypatch.setenv("POLYROUTE_AUDIT_URL", request.getfixturevalue("postgres_url"))
    return str(request.param)


@pytest.fixture
def settings(backend: str) -> Settings:
    return load_settings()


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[AuditStore]:
    opened = open_store(settings)
    yield opened
    await opened.aclose()
