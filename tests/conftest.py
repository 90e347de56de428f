"""Every test runs in a sandbox: no real config, data dir, keyring or provider key is ever used."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.reliability import Attack, record

if TYPE_CHECKING:
    from tests.secrets.keyring_fixtures import MemoryKeyring

# Test modules are imported in importlib mode (areas may share basenames such as test_cli.py); their
# sibling helper modules (e.g. tests/audit/audit_helpers.py) stay importable by plain name.
for _area in sorted(Path(__file__).parent.iterdir()):
    if _area.is_dir() and not _area.name.startswith((".", "_")) and str(_area) not in sys.path:
        sys.path.insert(0, str(_area))


@pytest.fixture(autouse=True)
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = tmp_path / "sandbox" / var.lower()
        path.mkdir(parents=True)
        monkeypatch.setenv(var, str(path))
    for var in ("POLYROUTE_CONFIG", "POLYROUTE_AUDIT_URL", "POLYROUTE_AUDIT_KEY_FILE", "POLYROUTE_POLICY",
                "POLYROUTE_DATA_DIR", "POLYROUTE_HTTP_TOKENS", "ANTHROPIC_API_KEY", "OPENAI_API_KEY",
                "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_PROFILE", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL",
                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "POLYROUTE_BUDGET_URL",
                "POLYROUTE_PG_POOL_SIZE", "POLYROUTE_PG_CONNECT_TIMEOUT", "POLYROUTE_METRICS",
                "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("POLYROUTE_DATA_DIR", str(tmp_path / "sandbox" / "data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    yield tmp_path


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring backend installed for one test, the previous backend restored after."""
    import keyring
    from tests.secrets.keyring_fixtures import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


# -- a throwaway PostgreSQL cluster, started once per run by the tests that ask for it ----------------
# POLYROUTE_REQUIRE_POSTGRES=1 (set by .ci/run) turns "cannot start PostgreSQL" from a skip into a
# failure; on a laptop without PostgreSQL the tests that need it skip, and the summary says so.
_pg_unavailable: list[str] = []


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[object]:
    from polyroute.testing.pgcluster import Cluster, ClusterUnavailable

    try:
        cluster = Cluster().start()
    except ClusterUnavailable as error:
        reason = f"PostgreSQL tests need a local PostgreSQL server: {error}"
        if os.environ.get("POLYROUTE_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (POLYROUTE_REQUIRE_POSTGRES=1)", pytrace=False)
        _pg_unavailable.append(reason)
        pytest.skip(reason)
    try:
        yield cluster
    finally:
        cluster.stop()


_pg_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_cluster: object) -> str:
    """A fresh, empty database on the session's cluster."""
    from polyroute.testing.pgcluster import Cluster

    assert isinstance(postgres_cluster, Cluster)
    return postgres_cluster.create_database(f"t{os.getpid()}_{next(_pg_databases)}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_unavailable:
        notice = f"NOTICE: PostgreSQL tests were skipped. {_pg_unavailable[0]}"
        terminalreporter.write_line(notice, yellow=True)


# ---- attacks: the README's reliability table (tests/reliability.py) ---------------------------------


@pytest.fixture
def attack() -> Attack:
    """Figures an attack test reports (see tests/reliability.py); mark the test with `attack` too."""
    return Attack()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    marker = item.get_closest_marker("attack")
    if marker is not None and (report.when == "call" or (report.when == "setup" and not report.passed)):
        name = str(marker.args[0]) if marker.args else item.name
        found = getattr(item, "funcargs", {}).get("attack")
        figures = found.figures if isinstance(found, Attack) else {}
        area = str(marker.kwargs.get("area", item.path.parent.name))
        record(name, area, item.nodeid, report.passed, figures)
    return report
