"""A `polyroute-<server>` script parses `serve` alone: the other commands' modules stay unimported, so
they add nothing to a server's cold start."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from polyroute_servers.cli import build_parser
args = build_parser(("serve",)).parse_args(["serve", "residency", "--port", "0"])
assert args.server == "residency" and args.port == 0
loaded = sorted(name for name in sys.modules if name.startswith("polyroute_servers.commands."))
print(" ".join(loaded))
"""


def test_a_server_script_imports_only_the_serve_command() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["polyroute_servers.commands.serve"]
