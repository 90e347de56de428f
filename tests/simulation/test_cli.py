"""`polyroute policy simulate|diff` and `polyroute route explain` end to end: the JSON shape DESIGN.md
fixes, exit codes, and that a simulation writes nothing and calls no provider."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from sim_fixtures import TEAMS, TIGHTENED_POLICY, USER_POLICY, entries, record_calls

from polyroute.app import App
from polyroute.audit.store import sqlite_path
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders
from polyroute_servers.cli import main


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return json.dumps(value)


def config_text(fakes: FakeProviders, policy: Path) -> str:
    lines = [f"[policy]\nfile = {json.dumps(str(policy))}\n", '[defaults]\nstrategy = "cheapest"\n']
    lines.append("[teams]")
    lines += [f"{team} = {json.dumps(members)}" for team, members in TEAMS.items()]
    for entry in entries(fakes):
        lines.append("\n[[deployments]]")
        lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def logged(fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A configured installation (bundled catalog + the test deployments) whose log holds the mix."""
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    policy = tmp_path / "policy.toml"
    policy.write_text(USER_POLICY)
    config = tmp_path / "config.toml"
    config.write_text(config_text(fakes, policy))
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config))

    async def record() -> None:
        app = App(load_settings(), principal="local:tester")
        await record_calls(app)
        await app.aclose()

    anyio.run(record)
    fakes.clear()
    yield tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def events(settings_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(sqlite_path(load_settings().audit_url)) as db:
        return db.execute("SELECT seq, hash FROM events ORDER BY seq").fetchall()


def test_simulate_json_has_the_contract_summary_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], logged: Path, fakes: FakeProviders
) -> None:
    (logged / "tight.toml").write_text(TIGHTENED_POLICY)
    before = events(logged)
    code, out, _ = run(capsys, "policy", "simulate", "--policy", str(logged / "tight.toml"), "--json")
    assert code == 0
    report = json.loads(out)
    summary = report["summary"]
    for key in ("calls", "unchanged", "rerouted", "newly_refused", "newly_allowed"):
        assert type(summary[key]) is int
    for key in ("spend_usd", "simulated_spend_usd"):
        assert isinstance(summary[key], int | float)
    assert summary["calls"] == 24 and summary["newly_allowed"] == 2  # QA personal may now go to eu-mid
    outcomes = ("unchanged", "rerouted", "newly_refused", "newly_allowed")
    assert sum(summary[key] for key in outcomes) == 24
    assert report["log"]["head_seq"] == len(before)
    assert report["proposed"]["policy_file"].endswith("tight.toml")
    assert events(logged) == before and [r for s in fakes.servers for r in s.seen()] == []
    again = run(capsys, "policy", "simulate", "--policy", str(logged / "tight.toml"), "--json")[1]
    assert again == out  # deterministic: same log, same inputs, same bytes


def test_simulate_tables_filters_and_usage_errors(capsys: pytest.CaptureFixture[str], logged: Path) -> None:
    code, out, _ = run(capsys, "policy", "simulate", "--team", "gulf")
    assert code == 0 and "8 calls replayed" in out and "by jurisdiction × data class" in out
    code, _, err = run(capsys, "policy", "simulate", "--prices", str(logged / "missing.toml"))
    assert code == 2 and "missing.toml" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as stopped:
        main(["policy", "simulate", "--since", "last tuesday"])
    assert stopped.value.code == 2
    with pytest.raises(SystemExit) as stopped:
        main(["policy", "simulate", "--principal", "bob", "--team", "gulf"])
    assert stopped.value.code == 2


def test_simulate_over_a_tampered_log_exits_1_with_the_verification_message(
    capsys: pytest.CaptureFixture[str], logged: Path
) -> None:
    with sqlite3.connect(sqlite_path(load_settings().audit_url)) as db:
        db.execute("UPDATE events SET body = replace(body, '\"alice\"', '\"eve\"') WHERE seq = 10")
    code, out, err = run(capsys, "policy", "simulate", "--json")
    assert code == 1 and out == ""
    assert "failed verification at event 10" in err and "no simulation" in err


def test_policy_diff_in_words_and_json(capsys: pytest.CaptureFixture[str], logged: Path) -> None:
    (logged / "tight.toml").write_text(TIGHTENED_POLICY)
    code, out, _ = run(capsys, "policy", "diff", "current", str(logged / "tight.toml"), "--json")
    assert code == 0
    diff = json.loads(out)
    changed = {c["rule"]: c for c in diff["changes"]}
    assert set(changed) == {"AE/personal", "EU/personal", "QA/personal"}
    assert changed["AE/personal"]["countries_removed"] == ["US"] and changed["AE/personal"]["tighter"] is True
    assert changed["QA/personal"]["countries_added"] == ["DE"] and changed["QA/personal"]["tighter"] is False
    assert diff["unchanged"] > 50 and diff["old"]["version"] != diff["new"]["version"]
    code, out, _ = run(capsys, "policy", "diff", "bundled", "current")
    assert code == 0 and "AE/personal: allowed AE → AE, US (adds US)" in out and "1 rules differ" in out
    code, out, _ = run(capsys, "policy", "diff", "bundled", "bundled")
    assert code == 0 and "no differences" in out


def test_route_explain(capsys: pytest.CaptureFixture[str], logged: Path) -> None:
    with sqlite3.connect(sqlite_path(load_settings().audit_url)) as db:
        (receipt,) = db.execute(
            "SELECT id FROM events WHERE event_type = 'intent' AND body LIKE '%\"personal\"%' "
            "ORDER BY seq LIMIT 1"
        ).fetchone()
    code, out, _ = run(capsys, "route", "explain", receipt, "--json")
    assert code == 0
    explanation = json.loads(out)
    assert explanation["receipt_id"] == receipt and explanation["status"] == "completed"
    assert explanation["facts"]["classification_defaulted"] is False
    assert explanation["then"]["chosen"] == explanation["today"]["chosen"] and explanation["changed"] == []
    code, out, _ = run(capsys, "route", "explain", receipt)
    assert code == 0 and "changed since: nothing" in out and "classification:" in out
    code, _, err = run(capsys, "route", "explain", "evt_nope")
    assert code == 1 and "no audit event with receipt id 'evt_nope'" in err
