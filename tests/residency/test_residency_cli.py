"""`polyroute residency check|explain`: output, JSON, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from polyroute_servers.cli import main

CONFIG = """
[[deployments]]
id = "riyadh-allam"
provider = "openai_compatible"
model = "allam-2-7b"
base_url = "https://llm.example.sa/v1"
location = "SA"
context_window = 4096
max_output_tokens = 1024
"""


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("POLYROUTE_CONFIG", str(path))
    return path


def check(*extra: str) -> list[str]:
    return ["residency", "check", "--jurisdiction", "SA", "--deployment", "riyadh-allam", *extra]


def test_allowed_prints_a_readable_verdict_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check("--data-class", "government_secret")) == 0
    out = capsys.readouterr().out
    assert out.startswith("ALLOWED: SA government_secret data → riyadh-allam")
    assert "rule:              SA/government_secret" in out
    assert "NCA Cloud Cybersecurity Controls" in out


def test_denied_json_is_one_document_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["residency", "check", "--jurisdiction", "EU", "--data-class", "personal",
            "--deployment", "riyadh-allam", "--json"]  # fmt: skip
    assert main(argv) == 1
    captured = capsys.readouterr()
    verdict = json.loads(captured.out)
    assert verdict["allowed"] is False
    assert verdict["rule"] == "EU/personal"
    assert verdict["processing_locations"] == ["SA"]
    assert verdict["reasons"][0].startswith("riyadh-allam: may process in SA, which is outside")
    assert verdict["citations"] and verdict["policy_version"].startswith("sha256:")
    assert captured.err == ""


def test_unknown_deployment_is_a_one_line_denial_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["residency", "check", "--jurisdiction", "SA", "--data-class", "personal", "--deployment", "ghost"]
    assert main(argv) == 2  # a usage error, like an unknown id in every other command
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("polyroute: denied: unknown deployment 'ghost'")


def test_unknown_jurisdiction_and_class_are_denials_and_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "residency",
        "check",
        "--jurisdiction",
        "XX",
        "--data-class",
        "secretish",
        "--deployment",
        "riyadh-allam",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown jurisdiction 'XX'" in err and "unknown data class 'secretish'" in err


def test_missing_flag_is_a_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["residency", "check", "--jurisdiction", "SA", "--deployment", "riyadh-allam"])
    assert exited.value.code == 2
    assert "--data-class" in capsys.readouterr().err


def test_malformed_policy_file_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad-policy.toml"
    bad.write_text(
        '[[rules]]\njurisdiction = "SA"\ndata_classes = "*"\nallowed = ["Atlantis"]\n', encoding="utf-8"
    )
    monkeypatch.setenv("POLYROUTE_POLICY", str(bad))
    assert main(check("--data-class", "personal")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(bad) in err and "unknown location(s) Atlantis" in err


def test_explain_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["residency", "explain", "--jurisdiction", "ae-difc"]) == 0
    out = capsys.readouterr().out
    assert "AE-DIFC/personal" in out and "DIFC Data Protection Law" in out
    assert main(["residency", "explain", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["rules"]) == 126 and document["version"].startswith("sha256:")
    assert main(["residency", "explain", "--jurisdiction", "Atlantis"]) == 2
    assert capsys.readouterr().err.startswith("polyroute: unknown jurisdiction 'Atlantis'")


def test_console_script_runs_end_to_end(config: Path) -> None:
    script = Path(sys.executable).with_name("polyroute")
    result = subprocess.run(
        [str(script), *check("--data-class", "health", "--json")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["allowed"] is True
