"""MCP Inspector CLI (a third-party TypeScript client) against every stdio server, as a host launches it."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from npm_tools import INSPECTOR, npx, polyroute_command, require

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a first run fetches from the npm registry

TOOLS = {
    "router": {"list_models", "route_request", "complete"},
    "cost": {"estimate_cost", "compare_costs", "budget_status"},
    "residency": {"check_residency", "list_allowed_deployments", "explain_policy"},
    "audit": {"query_events", "verify_log", "summarize_usage", "get_receipt", "record_event",
              "explain_route", "simulate_change"},
}
TOOLS["suite"] = set().union(*TOOLS.values())
EXIT_TOOL_IS_ERROR = 5  # the Inspector CLI's exit code for a tool result with isError: true


def inspect(server: str, data_dir: Path, *method: str) -> subprocess.CompletedProcess[str]:
    """One Inspector CLI session: spawn `polyroute serve SERVER` over stdio with only the env it is given."""
    env = [
        "-e",
        f"POLYROUTE_DATA_DIR={data_dir}",
        "-e",
        "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
    ]
    return npx(
        [
            INSPECTOR,
            "--cli",
            "--connect-timeout",
            "60000",
            *env,
            *polyroute_command(),
            "serve",
            server,
            *method,
        ],
        timeout=120,
    )


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every Inspector run at once (each spawns Node and Python; in parallel they fit the time budget)."""
    require(INSPECTOR)
    data = tmp_path_factory.mktemp("inspector")
    jobs: dict[str, tuple[str, ...]] = {
        server: (server, "--method", "tools/list", "--strict") for server in TOOLS
    }
    check = ("--method", "tools/call", "--tool-name", "check_residency", "--tool-arg", "jurisdiction=SA",
             "data_class=government_secret", "deployment=anthropic-claude-sonnet-4-6")  # fmt: skip
    jobs["call"] = ("residency", *check)
    jobs["bad-call"] = ("residency", *check[:6])
    jobs["record"] = ("audit", "--method", "tools/call", "--tool-name", "record_event", "--tool-arg",
                      "action=inspector-smoke-test")  # fmt: skip
    # Mostly waiting on process start-up, so a few overlap well even on two cores.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(inspect, job[0], data, *job[1:]) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("server", sorted(TOOLS))
def test_inspector_lists_every_tool_with_portable_schemas(
    sessions: dict[str, subprocess.CompletedProcess[str]], server: str
) -> None:
    done = sessions[server]
    assert done.returncode == 0, (
        f"exit {done.returncode}: {done.stderr[-800:]}"
    )  # --strict exits 6 on schema errors
    tools = json.loads(done.stdout)["tools"]
    assert {tool["name"] for tool in tools} == TOOLS[server]
    for tool in tools:
        assert tool["description"] and tool["inputSchema"]["type"] == "object"
        assert "outputSchema" in tool, f"{tool['name']} has no outputSchema"
        read_only = tool["annotations"]["readOnlyHint"]
        assert read_only is (tool["name"] not in {"complete", "record_event"})


def test_inspector_calls_a_tool_and_reads_structured_content(
    sessions: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    done = sessions["call"]
    assert done.returncode == 0, done.stderr[-800:]
    result = json.loads(done.stdout)
    assert result["isError"] is False
    verdict = result["structuredContent"]
    assert verdict["allowed"] is False and verdict["rule"] == "SA/government_secret"
    assert verdict["processing_locations"] == ["ANY"]


def test_inspector_sees_bad_arguments_as_a_tool_error(
    sessions: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    done = sessions["bad-call"]
    assert done.returncode == EXIT_TOOL_IS_ERROR, done.stderr[-800:]
    text = json.loads(done.stdout)["content"][0]["text"]
    assert "data_class is required" in text and "Traceback" not in text


def test_inspector_session_writes_only_where_its_env_says(
    sessions: dict[str, subprocess.CompletedProcess[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Hosts pass a filtered environment: the data dir given with -e is the one the server wrote to."""
    done = sessions["record"]
    assert done.returncode == 0, f"exit {done.returncode}: {done.stdout[-400:]}"
    assert json.loads(done.stdout)["isError"] is False
    written = [p for p in tmp_path_factory.getbasetemp().glob("inspector*/*")]
    assert written, "record_event left nothing in the data dir passed with -e"
