"""Models that refuse sampling parameters (Claude 5.x): a request that sets a temperature is routed
elsewhere, with the reason in the plan; a request that leaves it at the default is served, without one."""

from __future__ import annotations

import asyncio

import pytest

from polyroute.app import App
from polyroute.catalog import Catalog, load_catalog
from polyroute.errors import NoRoute
from polyroute.routing import RoutePlan, RouteRequest
from polyroute.testing import FakeProviders
from polyroute.types import CompletionRequest

SA_PERSONAL = {"jurisdiction": "SA", "data_class": "personal", "strategy": "cheapest"}


@pytest.fixture
def fixed(app: App) -> App:
    """The test catalog with its cheapest Saudi deployment refusing sampling parameters."""
    entries = [d.model_copy(update={"accepts_temperature": d.id != "sa-cheap"}) for d in app.catalog]
    app.catalog = Catalog(entries)
    return app


def route(temperature: float | None, **fields: object) -> RouteRequest:
    request = CompletionRequest.from_prompt("Hello", max_tokens=100).model_copy(
        update={"temperature": temperature}
    )
    return RouteRequest.model_validate({"request": request, "principal": "local:tester", **fields})


def plan(app: App, temperature: float | None, **fields: object) -> RoutePlan:
    return app.router.plan(route(temperature, **SA_PERSONAL, **fields))


def test_a_set_temperature_routes_past_a_model_that_refuses_it_and_says_why(fixed: App) -> None:
    result = plan(fixed, 0.2)
    assert result.candidates[0].deployment == "sa-mid"
    (why,) = [e for e in result.exclusions if e.deployment == "sa-cheap"]
    assert why.stage == "capability" and "refuses sampling parameters" in why.reason
    assert "temperature" in result.required


@pytest.mark.parametrize("temperature", [None, 1.0])
def test_the_default_temperature_is_served_by_every_model(fixed: App, temperature: float | None) -> None:
    result = plan(fixed, temperature)
    assert result.candidates[0].deployment == "sa-cheap" and "temperature" not in result.required


def test_pinning_a_model_that_refuses_a_set_temperature_is_a_clear_refusal(fixed: App) -> None:
    with pytest.raises(NoRoute, match="refuses sampling parameters"):
        asyncio.run(fixed.router.complete(route(0.2, model="sa-cheap", **SA_PERSONAL)))


def test_the_default_is_not_sent_to_a_model_that_refuses_sampling(fixed: App, fakes: FakeProviders) -> None:
    async def go() -> None:
        result = await fixed.router.complete(route(1.0, **SA_PERSONAL))
        assert result.deployment == "sa-cheap"
        await fixed.aclose()

    asyncio.run(go())
    assert "temperature" not in fakes.anthropic.seen("sa-cheap-model")[-1].body


def test_the_bundled_claude_5_models_refuse_sampling_and_cite_it() -> None:
    catalog = load_catalog()
    claude_5 = [d for d in catalog if d.model.startswith("claude-") and "-5-" in d.model]
    assert claude_5 and all(not d.accepts_temperature for d in claude_5)
    assert all(
        any("temperature" in s.fact for s in d.sources) for d in claude_5
    ), "each refusal of sampling parameters carries its source"
    others = [d for d in catalog if d not in claude_5]
    assert others and all(d.accepts_temperature for d in others)
