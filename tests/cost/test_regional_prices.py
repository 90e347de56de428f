"""Issue 10: Azure Data Zone premium, PTU caveats and the GPT-6.x input limit, pinned."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tests.cost.conftest import deployment

from polyroute import cost, pricing
from polyroute.catalog import load_catalog
from polyroute.tokencount import TokenCount

EXACT = TokenCount(tokens=1_000_000, method="exact", tokenizer="given", error_band=0.0)


def test_azure_data_zone_is_quoted_ten_percent_above_global() -> None:
    """LiteLLM's azure/eu/gpt-5.1 is 1.375 / 11 USD per Mtok against 1.25 / 10 for azure/gpt-5.1."""
    catalog = load_catalog()
    world = pricing.rates_for(catalog.get("azure-global-gpt-5-1"))
    for zone in ("azure-datazone-eu-gpt-5-1", "azure-datazone-us-gpt-5-1"):
        rates = pricing.rates_for(catalog.get(zone))
        assert rates.input.base * 1_000_000 == Decimal("1.375")
        assert rates.output.base * 1_000_000 == Decimal("11.0")
        assert rates.input.base == world.input.base * Decimal("1.1")
        assert "1.1 uplift" in rates.source


def test_a_ptu_deployment_is_quoted_with_a_caveat_not_as_an_exact_price() -> None:
    catalog = load_catalog()
    ptu = cost.quote(catalog.get("azure-uaenorth-gpt-5-1"), EXACT, max_tokens=100)
    assert ptu.price_caveat and "provisioned throughput unit" in ptu.price_caveat
    assert cost.quote(catalog.get("azure-global-gpt-5-1"), EXACT, max_tokens=100).price_caveat is None
    own = deployment("my-ptu", billing="provisioned")
    assert cost.quote(own, EXACT, max_tokens=10).price_caveat is not None


def test_cli_shows_the_ptu_caveat(capsys: pytest.CaptureFixture[str]) -> None:
    from polyroute_servers.cli import main

    args = ["cost", "estimate", "--deployment", "azure-uaenorth-gpt-5-1", "--input-tokens", "1000",
            "--output-tokens", "100"]  # fmt: skip
    assert main(args) == 0
    assert "CAVEAT:" in capsys.readouterr().out
    pair = ["--deployment", "azure-uaenorth-gpt-5-1", "--deployment", "azure-global-gpt-5-1"]
    assert main(["cost", "compare", "--input-tokens", "1000", "--output-tokens", "100", *pair]) == 0
    out = capsys.readouterr().out
    assert "azure-uaenorth-gpt-5-1 *" in out and "PTU" in out


def test_demo_cell_marks_an_indicative_price() -> None:
    from polyroute_servers.demo_view import quote_cell

    quote = {"input_tokens": 10, "error_band": 0, "expected_usd": "0.01", "max_usd": "0.02"}
    assert "indicative" not in quote_cell(quote)
    assert "indicative (PTU)" in quote_cell({**quote, "price_caveat": "billed per PTU-hour"})


def test_input_between_the_input_limit_and_the_window_does_not_fit() -> None:
    astra = load_catalog().get("openai-gpt-6-astra")
    inside = TokenCount(tokens=950_000, method="exact", tokenizer="given", error_band=0.0)
    quote = cost.quote(astra, inside, max_tokens=1_000)
    assert quote.fits_context is False  # 951K < 1.05M window, but above the 922K input limit
    assert any("input limit 922,000" in note for note in quote.notes)
    from polyroute.pricebook import PriceBook

    assert PriceBook().estimate(astra, inside.tokens, inside.error_band, 1_000).fits is False
    assert cost.quote(astra, EXACT.model_copy(update={"tokens": 900_000}), max_tokens=1_000).fits_context


def test_the_route_plan_excludes_a_deployment_whose_input_limit_the_prompt_exceeds(tmp_path: Path) -> None:
    """The router's fit check uses the same input cap as the quote (routing never offers it)."""
    from polyroute.app import App
    from polyroute.catalog import load_catalog
    from polyroute.routing import Router, RouteRequest
    from polyroute.settings import Settings
    from polyroute.types import CompletionRequest

    app = App(Settings(data_dir=tmp_path), principal="local:tester")
    price = {"model_ref": "gpt-5.1", "provider_id": "openai"}
    common = {"provider": "openai", "model": "gpt-5.1", "location": "US", "context_window": 2000,
              "max_output_tokens": 500, "price_ref": price}  # fmt: skip
    app.catalog = load_catalog(
        [{"id": "capped", "max_input_tokens": 500, **common}, {"id": "open", **common}], bundled=False
    )
    app.router = Router(app)
    request = CompletionRequest.from_prompt("word " * 800, max_tokens=100)  # ~800 tokens: < window, > cap
    plan = app.router.plan(RouteRequest.model_validate({"request": request, "principal": "local:tester"}))
    assert [c.deployment for c in plan.candidates] == ["open"]
    (excluded,) = [e for e in plan.exclusions if e.deployment == "capped"]
    assert excluded.stage == "context" and "input limit of 500" in excluded.reason
