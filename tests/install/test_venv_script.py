"""scripts/_venv, which every script sources first: the Python version is checked before pip runs, and a
.venv left by another Python version is rebuilt instead of reused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))


def checkout(tmp_path: Path) -> Path:
    """A minimal project laid out like this one: scripts/_venv and a dependency-free pyproject.toml."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "_venv", root / "scripts" / "_venv")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "venv-probe"\nversion = "0"\n[tool.setuptools]\npy-modules = []\n'
    )
    return root


def fake_python(path: Path, version: str) -> Path:
    """An interpreter that only says which version it is, like an old python3 would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{version}"\n')
    path.chmod(0o755)
    return path


def source_venv(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", 'source scripts/_venv && echo "venv ready"'],
        cwd=root, capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )  # fmt: skip


def test_an_old_python_gets_one_line_before_pip_runs(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    old = fake_python(tmp_path / "bin" / "python3", "3.10")
    done = source_venv(root, POLYROUTE_PYTHON=str(old))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "needs Python 3.11 or newer, found 3.10" in done.stderr and "POLYROUTE_PYTHON" in done.stderr
    assert not (root / ".venv").exists(), "nothing half-built is left to be reused"


def test_a_venv_made_by_another_python_version_is_rebuilt(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    fake_python(root / ".venv" / "bin" / "python", "3.10")  # what an earlier, older python3 left
    done = source_venv(root, POLYROUTE_PYTHON=str(BASE_PYTHON))
    assert done.returncode == 0, done.stderr
    assert "rebuilding .venv (made by Python 3.10, now using 3." in done.stderr
    rebuilt = subprocess.run(
        [str(root / ".venv" / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert rebuilt.stdout.strip() == str(tuple(sys.version_info[:2]))
    again = source_venv(root, POLYROUTE_PYTHON=str(BASE_PYTHON))
    assert again.returncode == 0 and "rebuilding" not in again.stderr, "a matching venv is reused"
