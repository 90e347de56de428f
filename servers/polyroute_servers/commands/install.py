"""`polyroute install {claude-desktop|claude-code|cursor|vscode} [--server NAME] [--scope S] [--print]`.

Writes (or merges into) the host's MCP config so it launches this installation of Polyroute. Other
servers in the file are kept, the previous file is backed up, and no secret is ever written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from polyroute_servers import client_config as cc
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
        default="suite",
        help="which server to install (default: suite, every tool in one entry)",
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
    if client == "claude-desktop" and scope == "project":
        sys.stderr.write("polyroute: Claude Desktop has no project config; use --scope user\n")
        return 2
    if conflict := _conflict(args):
        sys.stderr.write(f"polyroute: {conflict}\n")
        return 2
    project_dir = (args.project_dir or Path.cwd()).absolute()
    target = cc.target_for(client, scope, project_dir=project_dir)
    if args.url:
        secrets = [args.token_env] if args.token_env else []
        entry = cc.build_http_entry(client, args.url, token_var=args.token_env)
    else:
        secrets = _secret_vars(app, args.key) if args.server in cc.CALLS_PROVIDERS else []
        entry = cc.build_entry(client, args.server, plain_env=_plain_env(app), secret_vars=secrets)
    inputs = cc.vscode_inputs(secrets) if client == "vscode" else []
    name = cc.entry_name(args.server)
    existing = cc.read_config(target.path)
    merged = cc.merge(existing, target, name, entry, inputs)
    text = cc.render(merged)
    if args.print_only:
        sys.stdout.write(text)
        return 0
    unchanged = existing == merged and target.path.exists()
    backup = None if unchanged else cc.write_config(target.path, text)
    _report(args, target, name, secrets, backup=backup, unchanged=unchanged)
    return 0


def _conflict(args: argparse.Namespace) -> str | None:
    """Options that would be silently ignored: say so instead of writing an entry without them."""
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
    name: str,
    secrets: list[str],
    *,
    backup: Path | None,
    unchanged: bool,
) -> None:
    skipped = secrets if cc.secret_ref(target.client, "X") is None else []
    if args.json:
        print_json(
            {
                "client": target.client,
                "path": str(target.path),
                "server": name,
                "changed": not unchanged,
                "backup": str(backup) if backup else None,
                "secret_refs": [] if skipped else secrets,
                "secrets_not_passed": skipped,
            }
        )
        return
    state = "already up to date in" if unchanged else "written to"
    print(f"MCP server {name!r} {state} {target.path}")
    if backup:
        print(f"previous file kept as {backup}")
    if secrets and not skipped:
        print(f"keys passed by reference (never copied): {', '.join(secrets)}")
    if skipped or (target.client == "claude-desktop" and args.server in cc.CALLS_PROVIDERS):
        print(
            "Claude Desktop does not pass your shell's variables: store provider keys in the OS keyring "
            "with `polyroute keys set PROVIDER`."
        )
    print(f"Restart {target.client} (or reload its MCP servers) to pick it up.")
