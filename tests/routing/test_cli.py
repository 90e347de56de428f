"""`polyroute complete` through the real CLI entry point, config file and all, against the fakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyroute.testing import FakeProviders
from polyroute_servers.cli import main

CONTRACT_KEYS = {
    "text", "deployment", "provider", "model", "processing_locations", "usage", "estimated_cost_usd",
    "cost_usd", "latency_ms", "attempts", "receipt_id",
}  # fmt: skip


@pytest.fixture
def configured(fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeProviders:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[[deployments]]
id = "sovereign-sa"
provider = "openai_compatible"
model = "sovereign-sa-model"
base_url = "{fakes.openai.url}/v1"
location = "SA"
context_window = 32000
max_output_tokens = 4000
price = {{ input_per_mtok = "0.5", output_per_mtok = "1.5" }}

[[deployments]]
id = "onprem-de"
provider = "openai_compatible"
model = "onprem-de-model"
base_url = "{fakes.openai.url}/v1"
location = "DE"
context_window = 32000
max_output_tokens = 4000
price = {{ input_per_mtok = "0.01", output_per_mtok = "0.01" }}
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config))
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    return fakes


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["complete", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_routed_json_has_the_contract_keys(
    configured: FakeProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "--prompt",
        "Hola",
        "--jurisdiction",
        "SA",
        "--data-class",
        "personal",
        "--strategy",
        "cheapest",
        "--json",
    )
    assert code == 0, err
    document = json.loads(out)
    assert document.keys() >= CONTRACT_KEYS
    assert document["deployment"] == "sovereign-sa" and document["processing_locations"] == ["SA"]
    assert isinstance(document["cost_usd"], float) and document["receipt_id"]
    assert [r.model for r in configured.openai.seen()] == ["sovereign-sa-model"]


def test_pinned_denied_deployment_exits_1_and_is_never_called(
    configured: FakeProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "--prompt",
        "x",
        "--model",
        "onprem-de",
        "--jurisdiction",
        "SA",
        "--data-class",
        "personal",
        "--json",
    )
    assert code == 1
    assert json.loads(out)["error"] == "PolicyDenied"
    assert err.startswith("polyroute: onprem-de may not take personal data for SA") and err.count("\n") == 1
    assert configured.openai.seen() == []


def test_readable_output_and_usage_errors(
    configured: FakeProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--prompt", "Marhaba", "--model", "sovereign-sa", "--data-class", "public")
    assert code == 0
    assert "Marhaba" in out and "receipt" in out and "sovereign-sa" in out
    code, _, err = run(capsys, "--prompt", "x", "--model", "no-such-deployment")
    assert code == 2 and "unknown deployment" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as usage:
        main(["complete", "--prompt", "x", "--require", "telepathy"])
    assert usage.value.code == 2
    configured.clear()
    with pytest.raises(SystemExit) as usage:
        main(["complete", "--prompt", "  "])  # an empty message would be sent (and billed) as is
    assert usage.value.code == 2 and configured.openai.seen() == [] == configured.anthropic.seen()


def test_no_route_without_keys_is_grouped_by_reason_one_line_each(
    configured: FakeProviders, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    code, out, err = run(capsys, "--prompt", "x", "--jurisdiction", "EU", "--data-class", "personal",
                         "--require", "vision")  # fmt: skip
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("polyroute: no deployment answered for personal data for EU")
    assert max(len(line) for line in lines) <= 110 and len(lines) < 25
    assert err.count("set OPENAI_API_KEY") == 1 and "openai-eu-gpt-6-luna" in err
    assert "residency (" in err and "anthropic-claude-sonnet-4-6" in err  # every exclusion still named
    assert configured.openai.seen() == [] and configured.anthropic.seen() == []
