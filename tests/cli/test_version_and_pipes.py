"""`polyroute --version` and `polyroute … | head`, as a user types them in a shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

POLYROUTE = Path(sys.executable).parent / "polyroute"


def shell(command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{POLYROUTE.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True, timeout=60, env=env
    )


def test_version_prints_the_installed_distribution_version() -> None:
    done = shell("polyroute --version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"polyroute {version('polyroute')}"


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head(1)")
def test_output_cut_short_by_head_ends_quietly() -> None:
    done = shell("polyroute catalog list | head -n 1")
    assert "deployments" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["catalog list", "catalog list --json", "--help", "residency explain"])
def test_a_reader_that_left_before_the_output_gets_no_traceback(command: str) -> None:
    """`| true` closes the pipe before Python has imported anything: every write meets EPIPE."""
    done = shell(f"polyroute {command} | true")
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.stderr == ""
    want = 0 if command == "--help" else 141  # argparse itself ignores a failed write of its help
    assert done.returncode == want, "141 as for any command killed by SIGPIPE under pipefail"
