"""`polyroute demo` end to end: a subprocess in a sandbox, which spawns the suite server over stdio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from polyroute_servers.demo_view import (
    choose_showcase,
    footprint_kind,
    live_failure_of,
    plan_summary,
    reason_text,
)

pytestmark = pytest.mark.slow


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polyroute_servers.cli", "demo", *args],
        capture_output=True, text=True, timeout=110, env=env or dict(os.environ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One run shared by the checks below (it spawns two Python processes; keep the area fast)."""
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("AWS_")}
    env.update({"HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "xdg-data"),
                "XDG_CONFIG_HOME": str(tmp / "xdg-config"), "POLYROUTE_DATA_DIR": str(tmp / "real-data"),
                "TMPDIR": str(tmp)})  # fmt: skip
    return run_demo(env=env)


def test_demo_exits_zero_and_walks_every_tool(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr
    for tool in ("list_models", "check_residency", "list_allowed_deployments", "compare_costs",
                 "route_request", "complete", "get_receipt", "query_events", "verify_log"):  # fmt: skip
        assert f"{tool}" in demo.stdout
    assert "Traceback" not in demo.stdout + demo.stderr


def test_demo_labels_stand_ins_and_needs_no_keys(demo: subprocess.CompletedProcess[str]) -> None:
    assert "LOCAL STAND-IN" in demo.stdout
    assert "not model output" in demo.stdout
    assert "sk-" not in demo.stdout, "no key (not even a dummy one) is printed"


def test_demo_shows_residency_verdicts_both_ways(demo: subprocess.CompletedProcess[str]) -> None:
    lines = demo.stdout.splitlines()
    sovereign = next(
        line for line in lines if line.strip().startswith("demo-riyadh-sovereign ") and "allowed" in line
    )
    assert sovereign.split()[1:4] == ["allowed", "DENIED", "DENIED"]
    assert "Saudi government-secret data: 1 of" in demo.stdout
    assert "EU personal data:" in demo.stdout and "UAE personal data:" in demo.stdout
    assert "     denied " in demo.stdout, "denials come with the policy's reason"


def test_demo_routes_secret_data_in_kingdom_and_refuses_a_global_pin(
    demo: subprocess.CompletedProcess[str],
) -> None:
    routed = next(
        line for line in demo.stdout.splitlines() if line.strip().startswith("SA government_secret")
    )
    assert "demo-riyadh-sovereign" in routed and " SA " in routed
    assert "dry run 1 compliant candidate" in demo.stdout
    assert "refused, not rerouted" in demo.stdout and "isError" in demo.stdout
    refusal = demo.stdout.split("refused, not rerouted", 1)[1].split("\n6.", 1)[0]
    assert "isError" in refusal and "SA" in refusal, "the refusal says why, naming the jurisdiction"


def test_demo_audit_trail_verifies(demo: subprocess.CompletedProcess[str]) -> None:
    assert "keyed digest; text not stored" in demo.stdout
    assert "hash chain intact" in demo.stdout
    assert "completion" in demo.stdout and "refusal" in demo.stdout


def test_demo_never_touches_the_real_data_dir(demo: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    data_line = next(line for line in demo.stdout.splitlines() if line.strip().startswith("data:"))
    workdir = Path(data_line.split()[1])
    assert not workdir.exists(), "the throwaway dir is removed without --keep"
    assert "real-data" not in demo.stdout


def test_keep_leaves_a_verifiable_log(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["TMPDIR"] = str(tmp_path)
    done = run_demo("--keep", env=env)
    assert done.returncode == 0, done.stderr
    (kept,) = [p for p in tmp_path.iterdir() if p.name.startswith("polyroute-demo-")]
    assert (kept / "data").is_dir() and (kept / "config.toml").is_file()
    assert f"POLYROUTE_DATA_DIR={kept / 'data'}" in done.stdout


def test_showcase_takes_one_deployment_per_footprint_kind() -> None:
    def dep(name: str, *where: str, model: str = "m") -> dict[str, object]:
        return {"id": name, "model": model, "processing_locations": list(where)}

    catalog = [dep("global", "ANY"), dep("us", "US"), dep("eu", "DE", "FR"), dep("de", "DE"), dep("au", "AU"),
               dep("sa", "SA"), dep("ae", "AE"),
               dep("de-sonnet", "DE", model="claude-sonnet-4-6")]  # fmt: skip
    chosen = [d["id"] for d in choose_showcase(catalog)]
    assert chosen == ["sa", "ae", "de-sonnet", "eu", "us", "global"]
    assert footprint_kind(dep("au", "AU")) is None


def test_reason_text_drops_the_repeated_id() -> None:
    assert reason_text({"reasons": ["x: may process in AE"]}, "x") == "may process in AE"
    assert reason_text({"reasons": []}, "x") == "(no reason given)"


def test_plan_summary_counts_exclusions_by_stage() -> None:
    plan = {"candidates": [{}], "exclusions": [{"stage": "residency"}] * 3 + [{"stage": "capability"}]}
    assert plan_summary(plan) == "1 compliant candidate, 4 excluded (residency 3, capability 1)"
    assert plan_summary({}) == "0 compliant candidates, 0 excluded (none)"


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_keys_in_the_shell_are_not_used_without_live(tmp_path: Path) -> None:
    """A user with real keys exported runs the Quickstart: every provider is still a stand-in."""
    dead = f"http://127.0.0.1:{closed_port()}"  # were the key used, the call would fail here
    env = {**os.environ, "TMPDIR": str(tmp_path), "OPENAI_API_KEY": "sk-real-looking-0123456789",
           "OPENAI_BASE_URL": f"{dead}/v1", "AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": dead}  # fmt: skip
    done = run_demo(env=env)
    assert done.returncode == 0, done.stderr
    assert "live:" not in done.stdout and "FAILED" not in done.stdout
    assert "No key from your shell is used" in done.stdout


def test_live_provider_that_fails_is_shown_as_failed_not_as_a_stand_in_answer(tmp_path: Path) -> None:
    """--live with keys that cannot work: the EU row says the live providers failed; no echo is shown."""
    dead = f"http://127.0.0.1:{closed_port()}"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("AWS_")}
    env.update({"TMPDIR": str(tmp_path), "OPENAI_API_KEY": "sk-bogus-0123456789",
                "OPENAI_BASE_URL": f"{dead}/v1", "AZURE_OPENAI_API_KEY": "bogus",
                "AZURE_OPENAI_ENDPOINT": dead, "AWS_ACCESS_KEY_ID": "AKIABOGUS",
                "AWS_SECRET_ACCESS_KEY": "bogus",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": dead, "AWS_DEFAULT_REGION": "eu-central-1"})  # fmt: skip
    done = run_demo("--live", env=env)
    assert done.returncode == 0, done.stderr
    assert "live: your credentials from this shell" in done.stdout
    eu_row = next(
        line for line in done.stdout.splitlines() if line.strip().startswith("EU personal, English")
    )
    assert "FAILED (live)" in eu_row
    assert "no answer shown: the live provider failed" in done.stdout
    assert "answer from bedrock" not in done.stdout and "answer from openai" not in done.stdout
    assert "answer from demo-riyadh-sovereign" in done.stdout, "the stand-in row is still answered"
    assert "hash chain intact" in done.stdout
    assert "sk-bogus-0123456789" not in done.stdout + done.stderr


def test_a_stand_in_answer_after_a_live_failure_counts_as_a_live_failure() -> None:
    providers = {"openai-eu": "openai", "bedrock-eu": "bedrock"}
    answer = {"deployment": "bedrock-eu", "attempts": [
        {"deployment": "openai-eu", "ok": False, "status": 401, "error": "invalid api key"},
        {"deployment": "bedrock-eu", "ok": True}]}  # fmt: skip
    assert live_failure_of(answer, providers, {"openai"}) == "openai-eu HTTP 401: invalid api key"
    assert live_failure_of(answer, providers, set()) is None, "a stand-in's failure is not a live one"
    assert live_failure_of({"error": "all failed"}, providers, {"openai"}) == "all failed"
