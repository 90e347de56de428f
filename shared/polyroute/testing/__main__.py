"""`python -m polyroute.testing`: run the three fake providers until Ctrl-C, printing the env to use.

Handy for trying the CLI or an MCP client by hand without keys: `eval` the printed lines in another
shell. The fakes are local stand-ins that echo prompts, not models.
"""

from __future__ import annotations

import shlex
import sys
import threading

from polyroute.testing import FakeProviders


def main() -> int:
    with FakeProviders() as fakes:
        sys.stdout.write("# local stand-in providers (echo, not models); in another shell run:\n")
        for name, value in fakes.env().items():
            sys.stdout.write(f"export {name}={shlex.quote(value)}\n")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
