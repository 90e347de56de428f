"""The files in manifests/: MCPB manifest, registry server.json, example client configs.

Checked against the published schemas' rules in Python (always), against the suite server's real tool
list (in memory), and against the shapes `polyroute install` writes. The official mcpb validator runs
in tests/clients (it needs Node).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from polyroute_servers import client_config as cc

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_mcpb_manifest_has_what_the_04_validator_requires() -> None:
    manifest = load(MANIFESTS / "mcpb" / "manifest.json")
    assert manifest["manifest_version"] == "0.4"
    assert {"name", "version", "description", "author", "server"} <= manifest.keys()
    assert manifest["version"] == project_version()
    server = manifest["server"]
    assert server["type"] == "uv" and server["entry_point"] and server["mcp_config"]["command"] == "uv"
    assert (ROOT / server["entry_point"]).is_file(), "entry_point names a file that ships in the bundle"
    assert server["mcp_config"]["args"][-2:] == ["serve", "suite"]


def test_mcpb_user_config_secrets_are_sensitive_and_referenced() -> None:
    manifest = load(MANIFESTS / "mcpb" / "manifest.json")
    fields = manifest["user_config"]
    for name, field in fields.items():
        assert field["type"] in {"string", "number", "boolean", "directory", "file"}
        assert field["title"] and field["description"]
        if name.endswith("_api_key"):
            assert field["sensitive"] is True and field["required"] is False
    env = manifest["server"]["mcp_config"]["env"]
    referenced = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(env)))
    assert referenced == set(fields), "every user_config field is used, and only those"


def test_registry_server_json_follows_the_schema_rules() -> None:
    server = load(MANIFESTS / "server.json")
    assert server["$schema"].endswith("/2025-12-11/server.schema.json")
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"])
    assert 1 <= len(server["description"]) <= 100
    assert server["version"] == project_version()
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "polyroute"
    assert package["version"] == project_version() and package["transport"] == {"type": "stdio"}
    secrets = {v["name"] for v in package["environmentVariables"] if v.get("isSecret")}
    assert secrets == {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"}


def test_readme_names_the_registry_server() -> None:
    name = load(MANIFESTS / "server.json")["name"]
    assert f"<!-- mcp-name: {name} -->" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.anyio
async def test_manifest_lists_exactly_the_suite_tools() -> None:
    from mcp import Client

    from polyroute.app import App
    from polyroute_servers.suite import build

    async with Client(build(App())) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
    manifest = load(MANIFESTS / "mcpb" / "manifest.json")
    assert {tool["name"] for tool in manifest["tools"]} == listed


@pytest.mark.parametrize(
    ("example", "client"),
    [("claude-desktop.json", "claude-desktop"), ("claude-code.mcp.json", "claude-code"),
     ("cursor.mcp.json", "cursor"), ("vscode.mcp.json", "vscode")],
)  # fmt: skip
def test_client_examples_have_the_shape_install_writes(example: str, client: cc.Client) -> None:
    document = load(MANIFESTS / "clients" / example)
    target = cc.target_for(client, "user", project_dir=Path("/p"))
    written = cc.build_entry(
        client, "suite", plain_env={"POLYROUTE_DATA_DIR": "/d"}, secret_vars=["ANTHROPIC_API_KEY"]
    )
    entry = document[target.servers_key]["polyroute"]
    assert entry.keys() == written.keys()
    assert entry["args"] == written["args"]
    if client != "claude-desktop":
        assert entry["env"]["ANTHROPIC_API_KEY"] == written["env"]["ANTHROPIC_API_KEY"]
    if client == "vscode":
        assert document["inputs"] == cc.vscode_inputs(["ANTHROPIC_API_KEY"])


def test_portable_example_is_exactly_what_launch_path_writes() -> None:
    """The file a team may commit: no machine paths, only key references."""
    document = load(MANIFESTS / "clients" / "claude-code.portable.mcp.json")
    written = cc.build_entry(
        "claude-code", "suite", plain_env={}, secret_vars=["ANTHROPIC_API_KEY"], launch="path"
    )
    assert document["mcpServers"]["polyroute"] == written
