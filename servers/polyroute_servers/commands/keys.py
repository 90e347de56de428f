"""`polyroute keys {set|get|delete} PROVIDER_OR_DEPLOYMENT`: API keys in the OS keyring.

`set` reads the key from stdin (piped) or a no-echo prompt, never from argv, where it would land in
shell history and `ps`. `get` shows only whether a key is set, where from, and its last four characters.
A machine without an OS keyring backend makes `set` and `delete` fail with exit 1 (the usage was
right; the machine cannot do it) and a message pointing to the environment variable instead.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING, Any, get_args

from polyroute import secrets
from polyroute.catalog import ProviderKind
from polyroute.errors import ConfigError
from polyroute_servers.commands import Subparsers
from polyroute_servers.output import print_json

if TYPE_CHECKING:
    from polyroute.app import App

KINDS: tuple[str, ...] = get_args(ProviderKind)


def register(subparsers: Subparsers) -> None:
    keys = subparsers.add_parser("keys", help="store, check or delete API keys in the OS keyring")
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (("set", "store a key (read from stdin or a hidden prompt)"),
                         ("get", "say whether a key is set (last 4 characters only)"),
                         ("delete", "remove a stored key")):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("name", metavar="PROVIDER_OR_DEPLOYMENT",
                            help=f"a provider kind ({', '.join(KINDS)}) or a deployment id")
        parser.add_argument("--json", action="store_true", help="one JSON document")
        if action == "set":  # catch a key typed after the name, so argparse does not echo it back
            parser.add_argument("extra", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(handler=run)


def run(app: App, args: argparse.Namespace) -> int:
    name: str = args.name
    _refuse_key_on_argv(args, name)
    variable = _variable(app, name)
    if args.action != "delete" and _is_bedrock(app, name):
        return _bedrock(args, name)
    if args.action == "set":
        secrets.set_key(name, _read_key(name))
        report: dict[str, Any] = {"name": name, "stored": True, "service": secrets.SERVICE}
        message = f"stored the key for {name} in the OS keyring (service {secrets.SERVICE!r})"
    elif args.action == "delete":
        secrets.delete_key(name)
        report, message = {"name": name, "deleted": True}, f"deleted the key for {name}"
    else:
        report, message = _status(name, variable)
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(message + "\n")
    return 0


def _refuse_key_on_argv(args: argparse.Namespace, name: str) -> None:
    extra: list[str] = list(getattr(args, "extra", None) or [])
    if "--json" in extra:  # REMAINDER swallows options after the name too
        extra.remove("--json")
        args.json = True
    if extra:
        sys.stderr.write(
            "polyroute keys set: error: a key is never taken from the command line (shell history, `ps`); "
            "nothing was stored. Pipe it on stdin or type it at the hidden prompt: "
            f"polyroute keys set {name}\n"
        )
        raise SystemExit(2)


def _bedrock(args: argparse.Namespace, name: str) -> int:
    """Bedrock has no key to store: say where its credentials come from instead of 'not set'."""
    chain = "Bedrock is called with AWS credentials (environment, profile or instance role), not a stored key"
    if args.action == "set":
        raise ConfigError(f"{chain}: nothing to set")
    in_env = bool(os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"))
    if args.json:
        print_json({"name": name, "aws_credentials": {"env_or_profile_set": in_env}})
    else:
        state = "set" if in_env else "not set"
        sys.stdout.write(f"{name}: {chain}; AWS_ACCESS_KEY_ID/AWS_PROFILE: {state}\n")
    return 0


def _variable(app: App, name: str) -> str | None:
    """The env var that would override a stored key for `name`; ConfigError for an unknown name."""
    if name in KINDS:
        return secrets.VENDOR_ENV.get(name)
    deployment = app.catalog.find(name)
    if deployment is None:
        from polyroute_servers.suggestion import did_you_mean

        shown = secrets.redact(name)  # someone may have typed the key where the name goes
        hint = did_you_mean(name, [*KINDS, *app.catalog.ids()]) if shown == name else ""
        raise ConfigError(
            f"{shown!r} is neither a provider kind ({', '.join(KINDS)}) nor a deployment id{hint} "
            "(`polyroute catalog list` shows every id)"
        )
    return secrets.env_var_for(deployment)


def _is_bedrock(app: App, name: str) -> bool:
    deployment = app.catalog.find(name)
    return name == "bedrock" or (deployment is not None and deployment.provider == "bedrock")


def _read_key(name: str) -> str:
    try:
        if sys.stdin.isatty():
            key = getpass.getpass(f"API key for {name} (input hidden): ")
        else:
            key = sys.stdin.readline()
    except EOFError:
        key = ""
    if not key.strip():
        raise ConfigError("no key given on stdin")
    return key.strip()


def _status(name: str, variable: str | None) -> tuple[dict[str, Any], str]:
    try:
        stored, available = secrets.get_key(name), True
    except secrets.NoKeyringBackend:
        stored, available = None, False
    in_env = bool(variable and os.environ.get(variable))
    report: dict[str, Any] = {
        "name": name,
        "keyring": {"available": available, "set": stored is not None,
                    "last4": secrets.last4(stored) if stored else None},
        "env": {"variable": variable, "set": in_env},
    }
    held = f"set ({secrets.last4(stored)})" if stored else "not set"
    parts = [f"keyring: {held if available else 'unavailable (no OS keyring backend on this machine)'}"]
    if variable:
        parts.append(f"{variable}: {'set (takes precedence)' if in_env else 'not set'}")
    return report, f"{name}: " + "; ".join(parts)
