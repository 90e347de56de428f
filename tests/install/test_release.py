"""The release path: scripts/release builds and checks sdist + wheel; the wheel works in a fresh venv.

Until the package is on PyPI, this is what makes `uvx polyroute` (manifests/server.json) truthful the
day it is published: the same wheel, installed with nothing from this checkout, runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_one_version_everywhere() -> None:
    import polyroute

    wanted = project_version()
    assert polyroute.__version__ == version("polyroute") == wanted
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(wanted)}\]", changelog, re.M), "CHANGELOG.md has this version"
    assert not re.search(r"__version__\s*=\s*['\"]", (ROOT / "shared/polyroute/__init__.py").read_text())


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_release_builds_checked_artifacts_and_the_wheel_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [str(ROOT / "scripts" / "release"), str(dist)], cwd=tmp_path, capture_output=True, text=True,
        timeout=400, env={k: v for k, v in os.environ.items() if k != "POLYROUTE_EXTRAS"},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    wanted = project_version()
    wheel, sdist = dist / f"polyroute-{wanted}-py3-none-any.whl", dist / f"polyroute-{wanted}.tar.gz"
    assert "PASSED" in built.stdout and f"twine upload {sdist} {wheel}" in built.stdout
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert f"polyroute-{wanted}/shared/polyroute/data/policy.toml" in names
    assert f"polyroute-{wanted}/README.md" in names, "the long description twine checked"

    venv = tmp_path / "fresh"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, str(wheel)],
        capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "POLYROUTE_DATA_DIR": str(tmp_path / "data"),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}  # fmt: skip

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "polyroute"), *argv], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)  # fmt: skip

    assert run("--version").stdout.strip() == f"polyroute {wanted}"
    catalog = run("catalog", "list", "--json")
    assert catalog.returncode == 0, catalog.stderr
    assert len(json.loads(catalog.stdout)["deployments"]) > 10, "the bundled catalog (package data) is there"
    check = run("residency", "check", "--jurisdiction", "SA", "--data-class", "government_secret",
                "--deployment", "anthropic-claude-sonnet-4-6", "--json")  # fmt: skip
    assert check.returncode == 1 and json.loads(check.stdout)["rule"] == "SA/government_secret", check.stderr
    code = "import polyroute, sys; print(polyroute.__file__)"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env
    )
    assert str(venv) in where.stdout, "imported from the fresh venv, not this checkout"
