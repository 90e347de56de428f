"""Fixtures for the adapter tests: the real SDKs against the wire-level fakes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from polyroute.providers import ProviderOptions, Providers
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@pytest.fixture
def env(fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """The SDKs pointed at the fakes, with clean recordings and no leftover faults."""
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    yield fakes
    fakes.clear()


@pytest.fixture
def providers(env: FakeProviders, tmp_path: Path) -> Providers:
    """Adapters with short timeouts and pauses, so fault tests stay fast."""
    return Providers(load_settings(), options=ProviderOptions(timeout=2.0, backoff=0.01, retry_after_cap=0.5))
