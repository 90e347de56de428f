"""Third-party MCP clients and validators, run from the npm registry at pinned versions.

Each tool is fetched once per session with `npx -y` (the npm registry is the only place anything is
downloaded from); when npx is missing or the package cannot be fetched, the tests that need it skip
with the reason instead of failing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
CONFORMANCE = "@modelcontextprotocol/conformance@0.1.16"
# 0.1.x knows protocol versions up to 2025-11-25; the 2026-07-28 scenarios (stateless, discover,
# headers, caching, multi-round-trip) exist only in the 0.2.0 pre-releases so far (npm, 2026-12-04).
CONFORMANCE_2026 = "@modelcontextprotocol/conformance@0.2.0-alpha.12"
NODE22 = "node@22.23.3"  # the conformance suite needs Node >= 22; this machine's Node may be older
MCPB = "@anthropic-ai/mcpb@2.1.2"
NPX_TIMEOUT = 240

_checked: dict[str, str | None] = {}
# Read at import, before the sandbox fixture swaps HOME: reuse the machine's npm cache, not a fresh one.
NPM_CACHE = os.environ.get("npm_config_cache") or str(Path.home() / ".npm")  # noqa: SIM112 (npm's own spelling)


def npm_env() -> dict[str, str]:
    """The sandboxed environment (HOME is a temp dir) with the machine's npm cache."""
    env = dict(os.environ)
    env["npm_config_cache"] = NPM_CACHE
    env["npm_config_update_notifier"] = "false"
    env["npm_config_fund"] = "false"
    return env


def npx(args: Sequence[str], *, timeout: float = NPX_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`npx -y ARGS` with `npm_env()`."""
    env = npm_env()
    return subprocess.run(["npx", "-y", *args], capture_output=True, text=True, timeout=timeout, env=env)


def require(*packages: str) -> None:
    """Skip the calling test unless npx can run these packages (fetched from the npm registry once)."""
    if shutil.which("npx") is None:
        pytest.skip("npx is not installed (Node.js is needed for third-party client tests)")
    key = " ".join(packages)
    if key not in _checked:
        args = [arg for package in packages for arg in ("-p", package)]
        try:
            done = npx([*args, "-c", "node --version"])
            _checked[key] = None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]
        except subprocess.TimeoutExpired:
            _checked[key] = f"timed out after {NPX_TIMEOUT} s"
    if _checked[key] is not None:
        pytest.skip(f"cannot run {key} via npx: {_checked[key]}")


def polyroute_command() -> list[str]:
    """The installed `polyroute` console script next to this interpreter (absolute, like a host uses)."""
    script = Path(sys.executable).absolute().parent / "polyroute"
    return [str(script)] if script.exists() else [sys.executable, "-m", "polyroute_servers.cli"]
