"""Keyring states for the secrets tests (the in-memory one, `memory_keyring`, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """What a headless Linux box without a Secret Service has: the `fail` backend."""
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
