"""`polyroute cost estimate` / `cost compare`: JSON and tables, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyroute_servers.cli import main

CONFIG = """
[[deployments]]
id = "test-sonnet"
provider = "anthropic"
model = "claude-sonnet-4-6"
location = "US"
context_window = 1000000
max_output_tokens = 64000
price_ref = { model_ref = "claude-sonnet-4-6", provider_id = "anthropic" }

[[deployments]]
id = "test-gpt"
provider = "openai"
model = "gpt-4.1"
location = "US"
context_window = 1047576
max_output_tokens = 32768
price_ref = { model_ref = "gpt-4.1", provider_id = "openai" }
"""


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two deployments of our own, so these tests do not depend on the bundled catalog's ids."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("POLYROUTE_CONFIG", str(path))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_json_has_min_expected_max_as_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "cost", "estimate", "--deployment", "test-sonnet",
        "--input-tokens", "10000", "--output-tokens", "800", "--max-tokens", "2000", "--json",
    )  # fmt: skip
    assert code == 0 and err == ""
    document = json.loads(out)
    assert document["min_usd"] == pytest.approx(0.030015)
    assert document["expected_usd"] == pytest.approx(0.042)  # 10k × $3 + 800 × $15, per million
    assert document["max_usd"] == pytest.approx(0.06)
    assert document["input_method"] == "exact" and document["fits_context"] is True


def test_estimate_from_a_prompt_prints_a_readable_quote(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "cost", "estimate", "--deployment", "test-gpt",
        "--prompt", "ما هي عاصمة المملكة العربية السعودية؟", "--output-tokens", "50",
    )  # fmt: skip
    assert code == 0
    assert "input tokens:" in out and "exact, o200k_base" in out
    assert "expected:" in out and "$" in out


def test_beyond_the_context_window_still_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "cost", "estimate", "--deployment", "test-gpt",
        "--input-tokens", "5000000", "--output-tokens", "10", "--json",
    )  # fmt: skip
    document = json.loads(out)
    assert code == 0 and document["fits_context"] is False and document["max_usd"] > 0
    assert any(note.startswith("would not fit") for note in document["notes"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--deployment", "no-such-deployment", "--input-tokens", "5", "--output-tokens", "5"],
         "unknown deployment 'no-such-deployment'"),
        (["--deployment", "test-gpt", "--input-tokens", "-5", "--output-tokens", "5"],
         "--input-tokens must be 0 or more"),
        (["--deployment", "test-gpt", "--input-tokens", "5", "--output-tokens", "-1"],
         "--output-tokens must be 0 or more"),
        (["--deployment", "test-gpt", "--input-tokens", "5", "--output-tokens", "9",
          "--max-tokens", "3"], "--max-tokens (3) is below --output-tokens (9)"),
        (["--deployment", "test-gpt", "--input-tokens", str(10**24), "--output-tokens", "5"],
         "--input-tokens 1,000,000,000,000,000,000,000,000 is not a request size (at most 1,000,000,000)"),
        (["--deployment", "test-gpt", "--input-tokens", "5", "--output-tokens", "2000000000"],
         "--output-tokens 2,000,000,000 is not a request size"),
        (["--deployment", "test-gpt", "--input-tokens", "5", "--output-tokens", "5",
          "--max-tokens", "2000000000"], "--max-tokens 2,000,000,000 is not a request size"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "cost", "estimate", *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_compare_ranks_deployments_cheapest_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "cost", "compare", "--prompt", "Summarise the contract in three bullet points.",
        "--output-tokens", "200", "--deployment", "test-sonnet",
        "--deployment", "test-gpt", "--json",
    )  # fmt: skip
    quotes = json.loads(out)["quotes"]
    assert code == 0 and len(quotes) == 2
    assert quotes[0]["expected_usd"] <= quotes[1]["expected_usd"]
    code, out, _ = run(capsys, "cost", "compare", "--input-tokens", "1000", "--output-tokens", "100")
    assert "test-gpt" in out and "test-sonnet" in out
    assert code == 0 and out.startswith("Cost, cheapest first")


def test_compare_over_the_catalog_sets_aside_a_deployment_without_a_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unpriced = (
        '[[deployments]]\nid = "no-price"\nprovider = "openai_compatible"\nmodel = "m"\n'
        'base_url = "https://llm.example/v1"\nlocation = "SA"\ncontext_window = 100\nmax_output_tokens = 10\n'
    )
    path = tmp_path / "config.toml"
    path.write_text(CONFIG + unpriced, encoding="utf-8")
    monkeypatch.setenv("POLYROUTE_CONFIG", str(path))
    code, out, err = run(
        capsys, "cost", "compare", "--input-tokens", "1000", "--output-tokens", "100", "--json"
    )
    document = json.loads(out)
    assert code == 0 and err == ""
    assert "test-gpt" in [q["deployment"] for q in document["quotes"]]
    assert [row["deployment"] for row in document["unpriced"]] == ["no-price"]
    assert "has no price" in document["unpriced"][0]["reason"]
    code, out, _ = run(capsys, "cost", "compare", "--input-tokens", "1000", "--output-tokens", "100")
    assert code == 0 and "not priced: no-price: deployment 'no-price' has no price" in out
    code, out, err = run(
        capsys, "cost", "compare", "--input-tokens", "1", "--output-tokens", "1", "--deployment", "no-price"
    )
    assert code == 2 and out == "" and "has no price" in err and err.count("\n") == 1
