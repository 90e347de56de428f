"""Real usage tightens later quotes: routed calls whose provider counts more input than the heuristic
move `estimate_cost` for that model toward what was observed, with a narrower band, and
`summarize_usage` shows the estimate error. The provider is the wire fake, reporting the usage a
`Fault(input_tokens=...)` tells it to (the request itself is answered normally)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mcp import Client
from routing_fixtures import Clock, make_app

from polyroute import cost
from polyroute.app import App
from polyroute.audit import EventQuery, UsageSummary
from polyroute.routing import RouteRequest
from polyroute.testing import FakeProviders, Fault
from polyroute.tokencount import request_tokens
from polyroute.types import CompletionRequest
from polyroute.usagecalibration import FLOOR_BAND, MIN_CALLS

PROMPT = "Summarise the attached tenancy agreement for the landlord and list every date it names"
RATIOS = (1.28, 1.31, 1.34, 1.30, 1.29, 1.33)
"""What the fake provider counts, as a multiple of the heuristic estimate of each request."""


def _request(n: int) -> RouteRequest:
    prompt = f"{PROMPT} (version {n})"
    return RouteRequest.model_validate({
        "request": CompletionRequest.from_prompt(prompt, max_tokens=200), "principal": "local:tester",
        "jurisdiction": "SA", "data_class": "public", "model": "sa-mid",
    })  # fmt: skip


async def _route_with_usage(app: App, fakes: FakeProviders, ratios: tuple[float, ...]) -> None:
    """One routed call per ratio, the fake reporting `ratio ×` the heuristic input tokens."""
    target = app.catalog.get("sa-mid")
    for n, ratio in enumerate(ratios):
        request = _request(n)
        estimated = request_tokens(target, request.request)
        assert estimated.method == "heuristic"  # an openai-compatible model of no known family
        fakes.openai.inject("sa-mid-model", Fault(input_tokens=round(estimated.tokens * ratio)))
        result = await app.router.complete(request)
        assert result.deployment == "sa-mid"


def test_observed_usage_moves_the_estimate_and_narrows_its_band(app: App, fakes: FakeProviders) -> None:
    from polyroute_servers import audit as audit_server
    from polyroute_servers import cost as cost_server

    target = app.catalog.get("sa-mid")
    question = _request(99).request

    async def scenario() -> None:
        before = await cost.estimate(target, question, calibration=app.calibration)
        assert before.calibrated_calls == 0 and before.input_method == "heuristic"
        await _route_with_usage(app, fakes, RATIOS[: MIN_CALLS - 1])
        too_few = await cost.estimate(target, question, calibration=app.calibration)
        assert too_few.input_tokens == before.input_tokens  # fewer than MIN_CALLS calls: unchanged
        await _route_with_usage(app, fakes, RATIOS[MIN_CALLS - 1 :])
        async with Client(cost_server.build(app)) as client:
            answer = await client.call_tool(
                "estimate_cost", {"deployment": "sa-mid", "prompt": question.text(), "max_tokens": 200}
            )
        after = cost.Quote.model_validate(answer.structured_content)
        assert after.calibrated_calls == len(RATIOS)
        assert after.input_tokens == pytest.approx(before.input_tokens * 1.305, rel=0.02)
        assert FLOOR_BAND <= after.error_band < before.error_band
        assert after.input_tokens_min >= 1 and after.min_usd > 0
        assert f"calibrated from {len(RATIOS)} completed calls to sa-mid-model" in " ".join(after.notes)
        assert f"from {len(RATIOS)} calls" in after.tokenizer
        # the observed figures sit inside the calibrated range, the old centre below it
        assert after.input_tokens_min <= before.input_tokens * 1.28 <= after.input_tokens_max
        assert before.input_tokens < after.input_tokens_min
        async with Client(audit_server.build(app)) as client:  # the tool's outputSchema holds the new fields
            usage = await client.call_tool("summarize_usage", {"group_by": "deployment"})
        assert not usage.is_error and usage.structured_content is not None
        row = UsageSummary.model_validate(usage.structured_content["rows"][0])
        assert (row.key, row.events, row.token_estimated_calls, row.estimated_calls) == ("sa-mid", 6, 6, 6)
        assert row.input_token_error_mean == pytest.approx(sum(RATIOS) / len(RATIOS) - 1, abs=0.01)
        assert row.estimate_error_mean is not None and row.actual_input_tokens > row.estimated_input_tokens
        assert row.estimate_error_usd == sum(
            (e.cost_usd or 0) - (e.estimated_cost_usd or 0)
            for e in await app.audit.query(EventQuery(event_type="completion"))
        )
        await app.aclose()

    asyncio.run(scenario())


def test_another_process_seeds_from_the_audit_log(
    app: App,
    fakes: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A fresh App (as the cost server or the CLI starts) reads the recent receipts once and quotes as
    the routing process does; `polyroute audit summarize` prints the estimate error."""
    from polyroute_servers.cli import main

    question = _request(99).request

    async def scenario() -> tuple[int, int]:
        await _route_with_usage(app, fakes, RATIOS)
        live = await cost.estimate(app.catalog.get("sa-mid"), question, calibration=app.calibration)
        await app.aclose()
        fresh = make_app(fakes, app.settings.data_dir, Clock())
        calibration = await fresh.seeded_calibration()
        seeded = await cost.estimate(fresh.catalog.get("sa-mid"), question, calibration=calibration)
        await fresh.aclose()
        assert seeded.error_band == live.error_band
        return live.input_tokens, seeded.input_tokens

    live, seeded = asyncio.run(scenario())
    assert live == seeded and live > 0
    monkeypatch.setenv("POLYROUTE_DATA_DIR", str(app.settings.data_dir))
    assert main(["audit", "summarize", "--group-by", "deployment"]) == 0
    table = capsys.readouterr().out
    line = next(row for row in table.splitlines() if row.startswith("sa-mid"))
    assert "+30." in line and "6 calls" in line  # the input token estimate was ~30 % low


def test_the_cli_quotes_from_the_calls_other_commands_routed(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each `polyroute complete` is its own process: `polyroute cost estimate` learns from their receipts."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[deployments]]\nid = "onprem-sa"\nprovider = "openai_compatible"\nmodel = "onprem-sa-model"\n'
        f'base_url = "{fakes.openai.url}/v1"\nlocation = "SA"\ncontext_window = 32000\n'
        'max_output_tokens = 4000\nprice = { input_per_mtok = "0.5", output_per_mtok = "1.5" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config))
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()

    def estimate(prompt: str, *extra: str) -> list[str]:
        return ["cost", "estimate", "--deployment", "onprem-sa", "--prompt", prompt, "--output-tokens", "10",
                *extra]  # fmt: skip

    before = json.loads(_cli(capsys, estimate(PROMPT, "--json")))
    for n in range(MIN_CALLS):
        prompt = f"{PROMPT} (version {n})"
        raw = json.loads(_cli(capsys, estimate(prompt, "--json")))  # fewer than MIN_CALLS yet: the heuristic
        fakes.openai.inject("onprem-sa-model", Fault(input_tokens=round(raw["input_tokens"] * 1.5)))
        assert _cli(capsys, ["complete", "--model", "onprem-sa", "--prompt", prompt, "--json"])
    after = json.loads(_cli(capsys, estimate(PROMPT, "--json")))
    assert before["calibrated_calls"] == 0 and after["calibrated_calls"] == MIN_CALLS
    assert after["input_tokens"] == pytest.approx(before["input_tokens"] * 1.5, abs=1)
    assert after["error_band"] < before["error_band"]
    compare = ["cost", "compare", "--deployment", "onprem-sa", "--prompt", PROMPT, "--output-tokens", "10"]
    assert f"(calibrated, {MIN_CALLS} calls)" in _cli(capsys, compare)
    assert f"calibrated ×1.500 from {MIN_CALLS} calls" in _cli(capsys, estimate(PROMPT))


def _cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    from polyroute_servers.cli import main

    assert main(argv) == 0
    return capsys.readouterr().out
