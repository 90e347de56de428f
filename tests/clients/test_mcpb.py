"""The MCPB manifest against the official validator (`@anthropic-ai/mcpb validate`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from npm_tools import MCPB, npx, require

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a first run fetches from the npm registry
MANIFEST = Path(__file__).resolve().parents[2] / "manifests" / "mcpb" / "manifest.json"


def test_official_validator_accepts_the_manifest() -> None:
    require(MCPB)
    done = npx([MCPB, "validate", str(MANIFEST)], timeout=120)
    assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    assert "validation passes" in done.stdout


def test_official_validator_rejects_a_broken_manifest(tmp_path: Path) -> None:
    """The check above is not vacuous: the same validator fails a manifest without mcp_config."""
    require(MCPB)
    broken = tmp_path / "manifest.json"
    broken.write_text(MANIFEST.read_text().replace('"mcp_config"', '"mcp_config_typo"'))
    done = npx([MCPB, "validate", str(broken)], timeout=120)
    assert done.returncode != 0
