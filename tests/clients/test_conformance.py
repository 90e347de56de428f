"""The official MCP conformance suite against the Streamable HTTP suite, for the scenarios that fit it.

The suite needs Node >= 22; it runs under the `node` package from the npm registry when the machine's
Node is older (`npx -p node@22 -p @modelcontextprotocol/conformance ...`).
"""

from __future__ import annotations

import re

import pytest
from npm_tools import CONFORMANCE, NODE22, npx, require

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a first run fetches from the npm registry


# The scenarios that fit a server of ours; the others test fixture tools (e.g. `test_image_content`) or
# features Polyroute does not offer (prompts, completions, logging/setLevel, sampling, elicitation).
SCENARIOS = ["server-initialize", "tools-list", "dns-rebinding-protection", "ping", "resources-list"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario_passes(http_suite: str, scenario: str) -> None:
    require(NODE22, CONFORMANCE)
    command = f"conformance server --url {http_suite} --scenario {scenario}"
    done = npx(["-p", NODE22, "-p", CONFORMANCE, "-c", command], timeout=180)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    summary = re.search(r"Passed: (\d+)/(\d+), (\d+) failed", output)
    assert summary, f"no result line (exit {done.returncode}): {output[-600:]} {done.stderr[-400:]}"
    passed, total, failed = map(int, summary.groups())
    assert failed == 0 and passed == total > 0, output[-1500:]
    assert done.returncode == 0
