"""The MCPB manifest against the official validator (`@anthropic-ai/mcpb validate`)."""

from __future__ import annotations

import json
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
from npm_tools import MCPB, npm_env, npx, require

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a first run fetches from the npm registry
ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "mcpb" / "manifest.json"


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


def test_pack_builds_a_uv_bundle_with_everything_uv_needs(tmp_path: Path) -> None:
    """A uv bundle is installed from its pyproject.toml: the sources and data files must be inside."""
    require(MCPB)
    done = subprocess.run([str(ROOT / "scripts" / "pack"), str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env=npm_env())  # fmt: skip
    assert done.returncode == 0, done.stderr[-800:]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with zipfile.ZipFile(tmp_path / f"polyroute-{version}.mcpb") as bundle:
        names = set(bundle.namelist())
        manifest = json.loads(bundle.read("manifest.json"))
    assert {"manifest.json", "pyproject.toml", "README.md", manifest["server"]["entry_point"]} <= names
    assert "shared/polyroute/data/deployments.toml" in names and "shared/polyroute/app.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
