"""The `polyroute` command and the `polyroute-<server>` console scripts.

`main()` only parses; each subcommand lives in `commands/<name>.py` with `register(subparsers)` and a
handler `(app, args) -> exit code`. Exit codes: 0 ok, 1 denied / failed, 2 usage error (including a
deployment id, jurisdiction or data class that does not exist), 130 interrupted, 141 the reader of our
output went away (`polyroute … | head`), as for any command killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from polyroute_servers.output import error

COMMANDS = ("demo", "serve", "complete", "catalog", "residency", "cost", "audit", "keys", "install",
            "policy", "route", "report")  # fmt: skip
EXIT_OK, EXIT_DENIED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141


def version() -> str:
    """The installed distribution's version: pyproject.toml is the one place it is written."""
    import polyroute

    return polyroute.__version__


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polyroute",
        description="Route model requests to compliant providers, quote costs, audit every call.",
    )
    parser.add_argument("--version", action="version", version=f"polyroute {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        importlib.import_module(f"polyroute_servers.commands.{name}").register(subparsers)
    return parser


def exit_code_for(exc: BaseException) -> int:
    from polyroute import errors, secrets

    if isinstance(exc, secrets.NoKeyringBackend):  # the usage was right; this machine cannot do it
        return EXIT_DENIED
    if isinstance(exc, (errors.ConfigError, errors.UnknownDeployment)):
        return EXIT_USAGE
    return EXIT_DENIED


def main(argv: Sequence[str] | None = None, *, commands: Sequence[str] = COMMANDS) -> int:
    try:
        code = _run(argv, commands)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """The reader left: point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    finally:
        os.close(devnull)


def _run(argv: Sequence[str] | None, commands: Sequence[str]) -> int:
    args = build_parser(commands).parse_args(argv)
    from pydantic import ValidationError

    from polyroute.errors import PolyrouteError

    try:
        from polyroute.app import App

        return int(args.handler(App(), args))
    except PolyrouteError as exc:
        error(str(exc))
        return exit_code_for(exc)
    except ValidationError as exc:  # an argument the library's types refuse, e.g. non-UTF-8 text
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"] if "[" not in str(part))  # no union noise
        message = problem["msg"].removeprefix("Value error, ")
        error(f"invalid input{f' ({where})' if where else ''}: {message}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _serve(name: str) -> int:
    """`polyroute-<name>`: `polyroute serve <name>`, parsed without importing the other commands (keys
    alone loads keyring, ~0.1 s of every server's cold start)."""
    return main(["serve", name, *sys.argv[1:]], commands=("serve",))


def router_main() -> int:
    return _serve("router")


def cost_main() -> int:
    return _serve("cost")


def residency_main() -> int:
    return _serve("residency")


def audit_main() -> int:
    return _serve("audit")


if __name__ == "__main__":
    sys.exit(main())
