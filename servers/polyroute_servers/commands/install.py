"""`polyroute install {claude-desktop|claude-code|cursor|vscode} [--server NAME]... [--scope S] [--launch L]`.

Writes (or merges into) the host's MCP config so it launches this installation of Polyroute (or, with
`--launch path|uvx`, a command every machine resolves itself, for a file a team commits). Other
servers in the file are kept, the previous file is kept as `<file>.bak` (one backup, replaced by the
next run that changes the file), and no secret is ever written. Several `--server`s are one run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyroute_servers import client_config as cc
from polyroute_servers.cli import version
from polyroute_servers.commands import Subparsers
from polyroute_servers.output import print_json

if TYPE_CHECKING:
    from polyroute.app import App


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "install",
        help="add Polyroute to an MCP client's config",
        description="Add Polyroute to an MCP client's config file (merging, with a backup).",
    )
    parser.add_argument("client", choices=cc.CLIENTS)
    _add_options(parser)
    parser.set_defaults(handler=run)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        choices=cc.SERVERS,
        action="append",
        help="which server to install; repeat it for several (default: suite, every tool in one entry)",
    )
    parser.add_argument(
        "--launch",
        choices=cc.LAUNCHES,
        default="here",
        help="here: this installation by absolute path, works at once on this machine (default); "
        "path: `polyroute` on each machine's PATH, no machine paths, for a file a team commits; "
        "uvx: the released package via `uvx polyroute@VERSION` (once it is on PyPI)",
    )
    parser.add_argument(
        "--scope",
        choices=("project", "user"),
        default=None,
        help="project file or user file (default: project for claude-code/cursor/vscode)",
    )
    parser.add_argument(
        "--project-dir", type=Path, default=None, help="project root (default: current directory)"
    )
    parser.add_argument(
        "--key",
        action="append",
        default=None,
        metavar="VAR",
        help="provider key variable to pass by reference (default: those set now)",
    )
    parser.add_argument("--url", help="add a remote Streamable HTTP server (…/mcp) instead of a local one")
    parser.add_argument("--token-env", metavar="VAR", help="with --url: variable holding the bearer token")
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the resulting config instead of writing it",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document describing what was done")


def run(app: App, args: argparse.Namespace) -> int:
    client: cc.Client = args.client
    scope: cc.Scope = args.scope or ("user" if client == "claude-desktop" else "project")
    args.scope = scope
    if conflict := _conflict(args, client, scope):
        sys.stderr.write(f"polyroute: {conflict}\n")
        return 2
    project_dir = (args.project_dir or Path.cwd()).absolute()
    target = cc.target_for(client, scope, project_dir=project_dir)
    servers: list[str] = list(dict.fromkeys(args.server or ["suite"]))
    entries, secrets = _entries(app, args, client, servers)
    inputs = cc.vscode_inputs(secrets) if client == "vscode" else []
    existing = cc.read_config(target.path)
    merged = existing
    for name, entry in entries.items():
        merged = cc.merge(merged, target, name, entry, inputs)
    text = cc.render(merged)
    if args.print_only:
        sys.stdout.write(text)
        return 0
    unchanged = existing == merged and target.path.exists()
    backup = None if unchanged else cc.write_config(target.path, text)
    _report(args, target, list(entries), secrets, backup=backup, unchanged=unchanged)
    return 0


def _entries(
    app: App, args: argparse.Namespace, client: cc.Client, servers: list[str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The entries to write, by name, and the secret variables they reference."""
    if args.url:
        secrets = [args.token_env] if args.token_env else []
        entry = cc.build_http_entry(client, args.url, token_var=args.token_env)
        return {cc.entry_name(servers[0]): entry}, secrets
    calls_providers = any(server in cc.CALLS_PROVIDERS for server in servers)
    secrets = _secret_vars(app, args.key) if calls_providers else []
    plain = _plain_env(app) if args.launch == "here" else {}  # a portable file holds no machine paths
    entries = {
        cc.entry_name(server): cc.build_entry(
            client, server, plain_env=plain, secret_vars=secrets, launch=args.launch, version=version()
        )
        for server in servers
    }
    return entries, secrets


def _conflict(args: argparse.Namespace, client: cc.Client, scope: cc.Scope) -> str | None:
    """Options that would be silently ignored or cannot work: say so instead of writing the entry."""
    if client == "claude-desktop" and scope == "project":
        return "Claude Desktop has no project config; use --scope user"
    if client == "claude-desktop" and args.launch != "here":
        return "Claude Desktop does not see your shell's PATH: keep the default --launch here"
    if args.url and args.server and len(args.server) > 1:
        return "--url adds one remote server; give at most one --server"
    if args.token_env and not args.url:
        return "--token-env is for a remote server: give --url too"
    if args.key and args.url:
        return "--key is for a local server; a remote one takes only its bearer token (--token-env)"
    return None


def _plain_env(app: App) -> dict[str, str]:
    """What the server must see to use the same config, data dir and audit log as this shell."""
    env = {var: os.environ[var] for var in cc.PLAIN_VARS if os.environ.get(var)}
    env["POLYROUTE_DATA_DIR"] = str(app.settings.data_dir.expanduser().absolute())
    if app.settings.config_file is not None:
        env["POLYROUTE_CONFIG"] = str(app.settings.config_file.expanduser().absolute())
    audit_url = os.environ.get("POLYROUTE_AUDIT_URL")
    if audit_url and not _has_password(audit_url):
        env["POLYROUTE_AUDIT_URL"] = audit_url
    return env


def _has_password(url: str) -> bool:
    from urllib.parse import urlsplit

    return bool(urlsplit(url).password)


def _secret_vars(app: App, chosen: list[str] | None) -> list[str]:
    """Explicit `--key`s, else every known key variable that is set in this shell (names only)."""
    if chosen:
        return list(dict.fromkeys(chosen))
    known = list(cc.PROVIDER_KEY_VARS)
    known += [d.api_key_env for d in app.catalog if d.origin == "user" and d.api_key_env]
    if "POLYROUTE_AUDIT_URL" in os.environ and _has_password(os.environ["POLYROUTE_AUDIT_URL"]):
        known.append("POLYROUTE_AUDIT_URL")
    return [var for var in dict.fromkeys(known) if os.environ.get(var)]


def _report(
    args: argparse.Namespace,
    target: cc.Target,
    names: list[str],
    secrets: list[str],
    *,
    backup: Path | None,
    unchanged: bool,
) -> None:
    skipped = secrets if cc.secret_ref(target.client, "X") is None else []
    notes = _notes(args, target)
    if args.json:
        print_json(
            {
                "client": target.client,
                "path": str(target.path),
                "server": names[0],
                "servers": names,
                "changed": not unchanged,
                "backup": str(backup) if backup else None,
                "secret_refs": [] if skipped else secrets,
                "secrets_not_passed": skipped,
                "notes": notes,
            }
        )
        return
    state = "already up to date in" if unchanged else "written to"
    print(f"MCP server{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))} {state} {target.path}")
    if backup:
        print(f"previous file kept as {backup} (one backup; the next change replaces it)")
    if secrets and not skipped:
        print(f"keys passed by reference (never copied): {', '.join(secrets)}")
    if skipped or (target.client == "claude-desktop" and set(names) & {"polyroute", "polyroute-router"}):
        print(
            "Claude Desktop does not pass your shell's variables: store provider keys in the OS keyring "
            "with `polyroute keys set PROVIDER`."
        )
    for note in notes:
        print(note)
    print(f"Restart {target.client} (or reload its MCP servers) to pick it up.")


def _notes(args: argparse.Namespace, target: cc.Target) -> list[str]:
    """What the user will meet next: an approval prompt, a file not to commit, a command to install."""
    notes: list[str] = []
    project = args.scope == "project"
    if target.client == "claude-code" and project:
        notes.append(
            "Claude Code shows servers from a project's .mcp.json as 'Pending approval' until you approve "
            f"them: run `claude` in {target.path.parent} and accept the prompt, or approve them under /mcp."
        )
    if args.url:
        return notes
    if args.launch == "here" and project:
        notes.append(
            f"{target.path.name} names paths on this machine (this checkout's .venv, your data dir): keep it "
            "out of version control. For a file your team commits, use --launch path; for yourself in "
            "every project, use --scope user."
        )
    elif args.launch == "path":
        notes.append(
            "Each machine needs `polyroute` on its PATH (e.g. `pipx install /path/to/polyroute-checkout`); "
            "the server then uses that machine's own config and data dir."
        )
    elif args.launch == "uvx":
        notes.append(
            "Needs `uv` on each machine and polyroute on PyPI; until it is published, use --launch path."
        )
    return notes
