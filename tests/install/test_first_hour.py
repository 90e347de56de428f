"""What a new user does with `scripts/install-client` and `polyroute install`, and what they then see."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from polyroute_servers.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "my-app"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_install_client_script_writes_into_the_directory_it_is_run_from(project: Path) -> None:
    """The script sets up the checkout's .venv (cd'ing there) and must come back before installing."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "install-client"), "claude-code", "--server", "residency"],
        cwd=project, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (project / ".mcp.json").is_file()
    assert "polyroute-residency" in load(project / ".mcp.json")["mcpServers"]
    assert not (ROOT / ".mcp.json").exists(), "nothing lands in the Polyroute checkout"
    assert str(project / ".mcp.json") in done.stdout


def test_claude_code_install_says_it_will_be_pending_approval(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "claude-code"]) == 0
    out = capsys.readouterr().out
    assert "'Pending approval'" in out and "/mcp" in out
    assert "keep it out of version control" in out and "--launch path" in out and "--scope user" in out


def test_user_scope_has_no_approval_or_commit_warning(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "claude-code", "--scope", "user"]) == 0
    out = capsys.readouterr().out
    assert "Pending approval" not in out and "version control" not in out


def test_servers_installed_one_by_one_leave_one_backup(project: Path) -> None:
    for server in ("router", "cost", "residency", "audit"):
        assert main(["install", "claude-code", "--server", server]) == 0
    backups = sorted(p.name for p in project.iterdir() if p.name.startswith(".mcp.json."))
    assert backups == [".mcp.json.bak"]
    before_last = load(project / ".mcp.json.bak")["mcpServers"]
    assert set(before_last) == {"polyroute-router", "polyroute-cost", "polyroute-residency"}
    assert set(load(project / ".mcp.json")["mcpServers"]) == set(before_last) | {"polyroute-audit"}


def test_several_servers_in_one_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".mcp.json").write_text('{"mcpServers": {"other": {"command": "/bin/true"}}}')
    argv = ["install", "claude-code", "--server", "router", "--server", "audit", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["servers"] == ["polyroute-router", "polyroute-audit"]
    assert set(load(project / ".mcp.json")["mcpServers"]) == {"other", "polyroute-router", "polyroute-audit"}
    assert load(project / ".mcp.json.bak") == {"mcpServers": {"other": {"command": "/bin/true"}}}


def test_launch_path_writes_a_file_a_team_can_commit(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value")
    assert main(["install", "claude-code", "--launch", "path"]) == 0
    entry = load(project / ".mcp.json")["mcpServers"]["polyroute"]
    assert entry == {
        "type": "stdio",
        "command": "polyroute",
        "args": ["serve", "suite"],
        "env": {"ANTHROPIC_API_KEY": "${ANTHROPIC_API_KEY}"},
    }
    text = (project / ".mcp.json").read_text()
    assert str(Path.home()) not in text and os.environ["POLYROUTE_DATA_DIR"] not in text
    assert "on its PATH" in capsys.readouterr().out


def test_launch_uvx_pins_this_version(project: Path) -> None:
    from importlib.metadata import version

    assert main(["install", "cursor", "--launch", "uvx", "--server", "cost"]) == 0
    entry = load(project / ".cursor" / "mcp.json")["mcpServers"]["polyroute-cost"]
    assert entry["command"] == "uvx"
    assert entry["args"] == [f"polyroute@{version('polyroute')}", "serve", "cost"]


def test_portable_launch_is_refused_for_claude_desktop(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "claude-desktop", "--launch", "path"]) == 2
    assert "PATH" in capsys.readouterr().err


@pytest.mark.anyio
async def test_a_path_entry_starts_a_working_server_when_polyroute_is_on_path(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a teammate's host does with the committed file: find `polyroute` on PATH and start it."""
    import sys

    from mcp import Client, StdioServerParameters

    assert main(["install", "claude-code", "--launch", "path", "--server", "residency"]) == 0
    entry = load(project / ".mcp.json")["mcpServers"]["polyroute-residency"]
    env = {**entry["env"], "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HOME": os.environ["HOME"], "POLYROUTE_DATA_DIR": os.environ["POLYROUTE_DATA_DIR"]}  # fmt: skip
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env)
    async with Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
    assert "check_residency" in tools
