"""`polyroute install`: real files in a sandboxed HOME / project dir, checked against each host's shape."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from polyroute_servers.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def desktop_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "Claude" / "claude_desktop_config.json"


def test_claude_code_project_file_has_stdio_entry_with_absolute_command(project: Path) -> None:
    assert main(["install", "claude-code"]) == 0
    entry = load(project / ".mcp.json")["mcpServers"]["polyroute"]
    assert entry["type"] == "stdio"
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
    assert entry["args"][-2:] == ["serve", "suite"]
    assert entry["env"]["POLYROUTE_DATA_DIR"] == os.environ["POLYROUTE_DATA_DIR"]


def test_claude_code_user_scope_merges_into_claude_json_keeping_other_keys(project: Path) -> None:
    user_file = Path(os.environ["HOME"]) / ".claude.json"
    user_file.write_text(json.dumps({"numStartups": 7, "mcpServers": {"other": {"command": "/bin/true"}}}))
    user_file.chmod(0o600)
    assert main(["install", "claude-code", "--scope", "user", "--server", "audit"]) == 0
    document = load(user_file)
    assert document["numStartups"] == 7
    assert set(document["mcpServers"]) == {"other", "polyroute-audit"}
    assert document["mcpServers"]["polyroute-audit"]["args"][-2:] == ["serve", "audit"]
    assert user_file.stat().st_mode & 0o777 == 0o600, "the file's mode is kept"


def test_claude_desktop_keeps_other_servers_and_backs_up(project: Path) -> None:
    path = desktop_file()
    path.parent.mkdir(parents=True)
    original = {"mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "fs"]}}, "globalShortcut": "x"}
    path.write_text(json.dumps(original))
    assert main(["install", "claude-desktop"]) == 0
    document = load(path)
    assert document["globalShortcut"] == "x"
    assert document["mcpServers"]["filesystem"] == original["mcpServers"]["filesystem"]
    assert Path(document["mcpServers"]["polyroute"]["command"]).is_absolute()
    assert "type" not in document["mcpServers"]["polyroute"]
    backups = list(path.parent.glob("claude_desktop_config.json.bak*"))
    assert backups == [path.with_name("claude_desktop_config.json.bak")] and load(backups[0]) == original


def test_second_install_is_a_no_op_without_new_backup(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "cursor"]) == 0
    assert main(["install", "cursor"]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert list((project / ".cursor").glob("mcp.json.bak*")) == []


def test_keys_are_references_never_values(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value")
    for client in ("claude-code", "cursor", "vscode"):
        assert main(["install", client]) == 0
    files = [project / ".mcp.json", project / ".cursor" / "mcp.json", project / ".vscode" / "mcp.json"]
    assert all("sk-ant-secret-value" not in f.read_text() for f in files)
    assert load(files[0])["mcpServers"]["polyroute"]["env"]["ANTHROPIC_API_KEY"] == "${ANTHROPIC_API_KEY}"
    assert load(files[1])["mcpServers"]["polyroute"]["env"]["ANTHROPIC_API_KEY"] == "${env:ANTHROPIC_API_KEY}"
    vscode = load(files[2])
    assert (
        vscode["servers"]["polyroute"]["env"]["ANTHROPIC_API_KEY"] == "${input:polyroute-anthropic-api-key}"
    )
    assert vscode["inputs"] == [
        {
            "type": "promptString",
            "id": "polyroute-anthropic-api-key",
            "description": "ANTHROPIC_API_KEY for Polyroute",
            "password": True,
        }
    ]


def test_claude_desktop_never_gets_a_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret")
    assert main(["install", "claude-desktop"]) == 0
    text = desktop_file().read_text()
    assert "OPENAI_API_KEY" not in text and "sk-openai-secret" not in text


def test_governance_servers_get_no_provider_keys(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-x")
    assert main(["install", "claude-code", "--server", "residency"]) == 0
    assert "ANTHROPIC_API_KEY" not in load(project / ".mcp.json")["mcpServers"]["polyroute-residency"]["env"]


def test_vscode_reinstall_does_not_duplicate_inputs(project: Path) -> None:
    for _ in range(2):
        assert main(["install", "vscode", "--key", "OPENAI_API_KEY"]) == 0
    document = load(project / ".vscode" / "mcp.json")
    assert [i["id"] for i in document["inputs"]] == ["polyroute-openai-api-key"]


def test_print_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "cursor", "--print"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "polyroute" in document["mcpServers"]
    assert not (project / ".cursor").exists()


def test_config_file_and_audit_url_are_passed(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\njurisdiction = "SA"\n')
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config))
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", "sqlite:////var/lib/polyroute/audit.db")
    assert main(["install", "claude-code"]) == 0
    env = load(project / ".mcp.json")["mcpServers"]["polyroute"]["env"]
    assert env["POLYROUTE_CONFIG"] == str(config)
    assert env["POLYROUTE_AUDIT_URL"] == "sqlite:////var/lib/polyroute/audit.db"


def test_audit_url_with_password_is_a_reference(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", "postgresql://u:hunter2@db/audit")
    assert main(["install", "claude-code"]) == 0
    text = (project / ".mcp.json").read_text()
    assert "hunter2" not in text
    assert (
        load(project / ".mcp.json")["mcpServers"]["polyroute"]["env"]["POLYROUTE_AUDIT_URL"]
        == "${POLYROUTE_AUDIT_URL}"
    )


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"mcpServers": []}', '// comment\n{"servers": {}}']
)
def test_unparseable_config_is_left_untouched(
    project: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / ".cursor" / "mcp.json"
    path.parent.mkdir()
    path.write_text(content)
    assert main(["install", "cursor"]) == 2
    assert path.read_text() == content
    err = capsys.readouterr().err
    assert err.startswith("polyroute: ") and err.count("\n") == 1 and "Traceback" not in err


def test_desktop_has_no_project_scope(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "claude-desktop", "--scope", "project"]) == 2
    assert "--scope user" in capsys.readouterr().err


def test_unknown_client_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["install", "notepad"])
    assert exit_info.value.code == 2


@pytest.mark.anyio
async def test_installed_entry_starts_a_working_server_like_a_host_would(project: Path) -> None:
    """Launch exactly what the file says, with a host's filtered environment plus the entry's env."""
    from mcp import Client, StdioServerParameters

    assert main(["install", "claude-code", "--server", "residency"]) == 0
    entry = load(project / ".mcp.json")["mcpServers"]["polyroute-residency"]
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry["env"])
    async with Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        verdict = await client.call_tool(
            "check_residency", {"jurisdiction": "EU", "data_class": "personal", "deployment": "nope"}
        )
    assert tools == {"check_residency", "list_allowed_deployments", "explain_policy"}
    assert verdict.structured_content is not None and verdict.structured_content["allowed"] is False


def test_remote_server_entries_carry_the_token_as_a_reference(project: Path) -> None:
    url = "https://polyroute.example.internal/mcp"
    for client in ("claude-code", "cursor", "vscode"):
        assert main(["install", client, "--url", url, "--token-env", "POLYROUTE_TOKEN"]) == 0
    code = load(project / ".mcp.json")["mcpServers"]["polyroute"]
    assert code == {"type": "http", "url": url, "headers": {"Authorization": "Bearer ${POLYROUTE_TOKEN}"}}
    cursor = load(project / ".cursor" / "mcp.json")["mcpServers"]["polyroute"]
    assert cursor == {"url": url, "headers": {"Authorization": "Bearer ${env:POLYROUTE_TOKEN}"}}
    vscode = load(project / ".vscode" / "mcp.json")
    assert vscode["servers"]["polyroute"]["headers"] == {"Authorization": "Bearer ${input:polyroute-token}"}
    assert vscode["inputs"][0]["id"] == "polyroute-token" and vscode["inputs"][0]["password"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [(["claude-desktop", "--url", "https://x/mcp"], "Connectors"),
     (["claude-code", "--url", "ftp://x/mcp"], "http:// or https://")],
)  # fmt: skip
def test_remote_install_refusals_are_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["install", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--token-env", "POLYROUTE_TOKEN"], "--token-env is for a remote server"),
        (["--url", "https://polyroute.example/mcp", "--key", "ANTHROPIC_API_KEY"], "--key is for a local"),
    ],
)
def test_options_that_would_be_ignored_are_usage_errors(
    project: Path, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install", "cursor", *argv]) == 2
    assert says in capsys.readouterr().err
    assert not (project / ".cursor").exists()
