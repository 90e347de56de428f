"""Client configuration files for MCP hosts: where each one lives, what an entry looks like, how to merge.

Pure functions (no printing, no argparse) so `polyroute install` stays thin and the shapes are tested
directly. Every host starts stdio servers with a filtered environment and GUI apps lack the shell's
PATH, so by default entries carry an absolute command and the `POLYROUTE_*` settings the server needs
(`launch="here"`). That file works only on this machine; a file meant to be committed for a team
names a command each machine resolves itself (`launch="path"`: `polyroute` on PATH, or
`launch="uvx"`: the released package through uv) and carries no machine paths. Secrets
are never written into a file: a host that can interpolate gets a reference (`${VAR}`,
`${env:VAR}`, `${input:id}`), one that cannot (Claude Desktop) gets nothing and the key is read from
the OS keyring (`polyroute keys set`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from polyroute.errors import ConfigError

Client = Literal["claude-desktop", "claude-code", "cursor", "vscode"]
CLIENTS: tuple[Client, ...] = ("claude-desktop", "claude-code", "cursor", "vscode")
SERVERS: tuple[str, ...] = ("suite", "router", "cost", "residency", "audit")
Scope = Literal["project", "user"]
Launch = Literal["here", "path", "uvx"]
LAUNCHES: tuple[Launch, ...] = ("here", "path", "uvx")

PROVIDER_KEY_VARS: tuple[str, ...] = (
    "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)  # fmt: skip
PLAIN_VARS: tuple[str, ...] = (
    "POLYROUTE_CONFIG", "POLYROUTE_DATA_DIR", "POLYROUTE_AUDIT_KEY_FILE", "POLYROUTE_POLICY",
    "AZURE_OPENAI_ENDPOINT", "AWS_PROFILE", "AWS_REGION",
)  # fmt: skip
CALLS_PROVIDERS = frozenset({"suite", "router"})


@dataclass(frozen=True)
class Target:
    """One host's config file: where it is and under which key its servers live."""

    client: Client
    path: Path
    servers_key: str


def entry_name(server: str) -> str:
    return "polyroute" if server == "suite" else f"polyroute-{server}"


def target_for(client: Client, scope: Scope, *, project_dir: Path, home: Path | None = None) -> Target:
    """The file a host reads, per its documented location for this platform and scope."""
    home = home or Path.home()
    if client == "claude-desktop":
        return Target(client, _app_config_dir(home) / "Claude" / "claude_desktop_config.json", "mcpServers")
    if client == "claude-code":
        path = project_dir / ".mcp.json" if scope == "project" else home / ".claude.json"
        return Target(client, path, "mcpServers")
    if client == "cursor":
        base = project_dir if scope == "project" else home
        return Target(client, base / ".cursor" / "mcp.json", "mcpServers")
    path = (
        project_dir / ".vscode" / "mcp.json"
        if scope == "project"
        else _app_config_dir(home) / "Code" / "User" / "mcp.json"
    )
    return Target(client, path, "servers")


def _app_config_dir(home: Path) -> Path:
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")


def server_command(
    server: str, *, python: str | None = None, launch: Launch = "here", version: str | None = None
) -> tuple[str, list[str]]:
    """The command that starts `server`: from this very installation by absolute path (no PATH lookup),
    or, for a portable file, `polyroute` found on PATH or the released package run by `uvx`."""
    if launch == "path":
        return "polyroute", ["serve", server]
    if launch == "uvx":
        package = f"polyroute@{version}" if version and "+" not in version else "polyroute"
        return "uvx", [package, "serve", server]
    interpreter = Path(python or sys.executable).absolute()  # not resolve(): a venv's python is a symlink
    script = interpreter.parent / ("polyroute.exe" if sys.platform == "win32" else "polyroute")
    if script.exists():
        return str(script), ["serve", server]
    return str(interpreter), ["-m", "polyroute_servers.cli", "serve", server]


def secret_ref(client: Client, var: str) -> str | None:
    """How the host spells 'read this variable at launch'; None when it cannot."""
    if client == "claude-code":
        return "${" + var + "}"
    if client == "cursor":
        return "${env:" + var + "}"
    if client == "vscode":
        return "${input:" + input_id(var) + "}"
    return None


def input_id(var: str) -> str:
    return "polyroute-" + var.lower().removeprefix("polyroute_").replace("_", "-")


def build_entry(
    client: Client,
    server: str,
    *,
    plain_env: Mapping[str, str],
    secret_vars: Sequence[str],
    python: str | None = None,
    launch: Launch = "here",
    version: str | None = None,
) -> dict[str, Any]:
    """One server entry in the host's shape."""
    command, args = server_command(server, python=python, launch=launch, version=version)
    env = dict(sorted(plain_env.items()))
    if server in CALLS_PROVIDERS:
        for var in secret_vars:
            ref = secret_ref(client, var)
            if ref is not None:
                env[var] = ref
    entry: dict[str, Any] = {"command": command, "args": args, "env": env}
    if client in ("claude-code", "vscode"):
        entry = {"type": "stdio", **entry}
    return entry


def build_http_entry(client: Client, url: str, *, token_var: str | None) -> dict[str, Any]:
    """A remote (Streamable HTTP) entry; the bearer token is a reference, like every secret here."""
    if client == "claude-desktop":
        raise ConfigError(
            "Claude Desktop adds remote servers under Settings → Connectors, not in its config file"
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--url must be an http:// or https:// URL, got {url!r}")
    entry: dict[str, Any] = {"url": url} if client == "cursor" else {"type": "http", "url": url}
    if token_var:
        entry["headers"] = {"Authorization": f"Bearer {secret_ref(client, token_var)}"}
    return entry


def vscode_inputs(secret_vars: Sequence[str]) -> list[dict[str, Any]]:
    """VS Code prompts once for each `${input:...}` and keeps the answer in its secret storage."""
    return [
        {"type": "promptString", "id": input_id(var), "description": f"{var} for Polyroute", "password": True}
        for var in secret_vars
    ]


def read_config(path: Path) -> dict[str, Any]:
    """The existing file as an object, {} when absent; never guesses at a file it cannot parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path} is not plain JSON (line {error.lineno}: {error.msg}); left untouched — "
            "edit it by hand or use --print"
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} does not hold a JSON object; left untouched")
    return document  # pyright: ignore[reportUnknownVariableType]


def merge(
    document: Mapping[str, Any],
    target: Target,
    name: str,
    entry: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A copy of `document` with our entry set and every other server and key kept as it was."""
    merged = dict(document)
    servers = merged.get(target.servers_key, {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{target.path}: {target.servers_key!r} is not an object; left untouched")
    merged[target.servers_key] = {**servers, name: dict(entry)}
    if inputs:
        existing = merged.get("inputs", [])
        if not isinstance(existing, list):
            raise ConfigError(f"{target.path}: 'inputs' is not a list; left untouched")
        wanted = {item["id"] for item in inputs}
        kept = [i for i in existing if not (isinstance(i, dict) and i.get("id") in wanted)]  # pyright: ignore
        merged["inputs"] = [*kept, *inputs]
    return merged


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def backup_path(path: Path) -> Path:
    """One backup per config file, replaced by each run that changes it: `.mcp.json.bak`."""
    return path.with_name(f"{path.name}.bak")


def write_config(path: Path, text: str) -> Path | None:
    """Write atomically, keeping the file's mode; the old file becomes the one backup. Returns its path."""
    backup: Path | None = None
    mode = 0o644
    if path.exists():
        mode = path.stat().st_mode & 0o777
        backup = backup_path(path)
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return backup
