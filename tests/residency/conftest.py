"""Fixtures for the residency tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from residency_helpers import MakeDeployment, build_deployment

from polyroute.residency import Policy, load_policy
from polyroute.settings import Settings


@pytest.fixture
def make() -> MakeDeployment:
    return build_deployment


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_policy(Settings(data_dir=Path("/nonexistent")))
