"""The official MCP conformance suite against the Streamable HTTP suite.

Two runs: the 2025-11-25 scenarios that fit a server of ours, one by one (the suite's 0.1 line), and
the whole suite at `--spec-version 2026-07-28` (its 0.2 line) against the expected-failures file
`conformance-2026-07-28.yaml`, which says why each scenario or check left out does not apply. The
suite fails the run on an unexpected failure *and* on a stale entry, so the file stays exact.

The suite needs Node >= 22; it runs under the `node` package from the npm registry when the machine's
Node is older (`npx -p node@22 -p @modelcontextprotocol/conformance ...`).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from npm_tools import CONFORMANCE, CONFORMANCE_2026, NODE22, npx, require

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a first run fetches from the npm registry

EXPECTED_FAILURES = Path(__file__).with_name("conformance-2026-07-28.yaml")

# The scenarios that fit a server of ours; the others test fixture tools (e.g. `test_image_content`) or
# features Polyroute does not offer (prompts, completions, logging/setLevel, sampling, elicitation).
SCENARIOS = ["server-initialize", "tools-list", "dns-rebinding-protection", "ping", "resources-list"]

# 2026-07-28 scenarios that apply to a server with our tools: each must run and pass at least one check
# (checks that need the suite's fixture tools are listed, with the reason, in the expected failures).
APPLICABLE_2026 = [
    "server-stateless",  # stateless lifecycle, server/discover, _meta validation, versions, 404s
    "http-header-validation",  # Mcp-Method / Mcp-Name / MCP-Protocol-Version against the body
    "caching",  # ttlMs / cacheScope hints on list results
    "sep-2164-resource-not-found",
    "json-schema-2020-12",
    "dns-rebinding-protection",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-error",
    "resources-list",
    "server-sse-multiple-streams",
    "input-required-result-unsupported-methods",
    "input-required-result-ignore-extra-params",
    "input-required-result-validate-input",
]


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario_passes(http_suite: str, scenario: str) -> None:
    require(NODE22, CONFORMANCE)
    command = f"conformance server --url {http_suite} --scenario {scenario}"
    done = npx(["-p", NODE22, "-p", CONFORMANCE, "-c", command], timeout=180)
    output = _plain(done.stdout)
    summary = re.search(r"Passed: (\d+)/(\d+), (\d+) failed", output)
    assert summary, f"no result line (exit {done.returncode}): {output[-600:]} {done.stderr[-400:]}"
    passed, total, failed = map(int, summary.groups())
    assert failed == 0 and passed == total > 0, output[-1500:]
    assert done.returncode == 0


@pytest.fixture(scope="module")
def run_2026(
    http_suite: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The whole suite once at 2026-07-28, with the expected-failures baseline; results kept on disk."""
    require(NODE22, CONFORMANCE_2026)
    out = tmp_path_factory.mktemp("conformance-2026")
    command = (
        f"conformance server --url {http_suite} --suite all --spec-version 2026-07-28 "
        f"--expected-failures {EXPECTED_FAILURES} -o {out}"
    )
    return npx(["-p", NODE22, "-p", CONFORMANCE_2026, "-c", command], timeout=420), out


def test_the_2026_07_28_suite_fails_only_where_the_expected_failures_say(
    run_2026: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = run_2026
    output = _plain(done.stdout)
    assert "Baseline check passed" in output, output[-2500:] + done.stderr[-600:]
    assert done.returncode == 0


@pytest.mark.parametrize("scenario", APPLICABLE_2026)
def test_an_applicable_2026_07_28_scenario_ran_and_passed_checks(
    run_2026: tuple[subprocess.CompletedProcess[str], Path], scenario: str
) -> None:
    _, out = run_2026
    found = [
        path
        for path in out.glob("*/checks.json")
        if re.fullmatch(rf"server-{scenario}-\d{{4}}-.*", path.parent.name)
    ]
    assert found, f"{scenario} did not run: {sorted(p.name for p in out.iterdir())}"
    checks = json.loads(found[0].read_text())
    assert any(check["status"] == "SUCCESS" for check in checks), checks


def test_every_expected_failure_says_why() -> None:
    entries = [
        line.strip() for line in EXPECTED_FAILURES.read_text().splitlines() if line.strip().startswith("- ")
    ]
    assert entries
    for entry in entries:
        name, _, reason = entry[2:].partition("#")
        assert re.fullmatch(r"[a-z0-9-]+(:[a-z0-9$-]+)?", name.strip()), entry
        assert len(reason.strip()) > 10, f"no reason given for {name.strip()}"
