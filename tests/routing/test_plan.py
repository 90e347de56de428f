"""Planning: the candidate filters, strategies and exclusions, without calling any provider."""

from __future__ import annotations

import pytest

from polyroute.app import App
from polyroute.catalog import Catalog
from polyroute.cost import quote_request
from polyroute.errors import ConfigError, UnknownDeployment
from polyroute.routing import RoutePlan, RouteRequest, RoutingInput
from polyroute.types import CompletionRequest, ImagePart, Message, TextPart

PROMPT = "Summarise the attached customer complaint in two sentences."


def plan(app: App, **fields: object) -> RoutePlan:
    request = fields.pop("request", None) or CompletionRequest.from_prompt(PROMPT, max_tokens=200)
    return app.router.plan(
        RouteRequest.model_validate({"request": request, "principal": "local:tester", **fields})
    )


def stages(result: RoutePlan) -> dict[str, str]:
    return {e.deployment: e.stage for e in result.exclusions}


def test_cheapest_picks_minimal_expected_cost_among_compliant(app: App) -> None:
    result = plan(app, jurisdiction="SA", data_class="personal", strategy="cheapest")
    ids = [c.deployment for c in result.candidates]
    assert ids == ["sa-cheap", "sa-mid", "sa-pricey"]
    assert stages(result) == {"de-cheapest": "residency", "us-declared": "residency"}
    request = CompletionRequest.from_prompt(PROMPT, max_tokens=200)
    expected = {d: quote_request(app.catalog.get(d), request).expected_usd for d in ids}
    assert result.candidates[0].expected_cost_usd == min(expected.values())
    assert all(c.expected_cost_usd == expected[c.deployment] for c in result.candidates)
    maximum = {d: quote_request(app.catalog.get(d), request).max_usd for d in ids}
    assert all(c.max_cost_usd == maximum[c.deployment] for c in result.candidates)


def test_public_data_may_use_the_cheapest_anywhere(app: App) -> None:
    result = plan(app, jurisdiction="SA", data_class="public", strategy="cheapest")
    assert result.candidates[0].deployment in ("de-cheapest", "us-declared")
    assert result.exclusions == []


def test_fastest_and_best_use_latency_prior_and_quality(app: App) -> None:
    assert (
        plan(app, jurisdiction="SA", data_class="personal", strategy="fastest").candidates[0].deployment
        == "sa-mid"
    )
    assert (
        plan(app, jurisdiction="SA", data_class="personal", strategy="best").candidates[0].deployment
        == "sa-pricey"
    )


def test_defaulted_classification_is_public_and_recorded(app: App) -> None:
    result = plan(app)
    assert (result.data_class, result.classification_defaulted) == ("public", True)
    assert len(result.candidates) == 5


def test_unknown_jurisdiction_or_class_excludes_everything_with_the_policy_reason(app: App) -> None:
    result = plan(app, jurisdiction="XX", data_class="personal")
    assert result.candidates == []
    assert all(e.stage == "residency" and "unknown jurisdiction" in e.reason for e in result.exclusions)
    result = plan(app, jurisdiction="SA", data_class="secretish")
    assert all("unknown data class" in e.reason for e in result.exclusions)
    result = plan(app, data_class="secretish")  # no jurisdiction: the class is still what is wrong
    assert result.candidates == []
    assert all("unknown data class 'secretish'" in e.reason for e in result.exclusions)


def test_capabilities_from_require_images_and_json(app: App) -> None:
    assert [c.deployment for c in plan(app, require=["arabic"]).candidates] == ["sa-cheap"]
    image = Message(
        role="user", content=[TextPart(text="what is this?"), ImagePart(media_type="image/png", data="AA==")]
    )
    result = plan(app, request=CompletionRequest(messages=[image]))
    assert [c.deployment for c in result.candidates] == ["sa-pricey"]
    assert "lacks vision" in next(e.reason for e in result.exclusions if e.deployment == "sa-mid")
    json_request = CompletionRequest(messages=[Message(role="user", content="x")], response_format="json")
    assert "us-declared" in stages(plan(app, request=json_request))


def test_context_window_and_output_limit(app: App) -> None:
    too_long = CompletionRequest.from_prompt("word " * 40000, max_tokens=100)
    assert set(stages(plan(app, request=too_long)).values()) == {"context"}
    too_much_output = CompletionRequest.from_prompt("hi", max_tokens=5000)
    result = plan(app, request=too_much_output)
    assert result.candidates == [] and "output limit of 4000" in result.exclusions[0].reason


def test_pins_a_deployment_id_or_a_model_name(app: App) -> None:
    result = plan(app, model="sa-mid", jurisdiction="SA", data_class="personal")
    assert [c.deployment for c in result.candidates] == ["sa-mid"] and result.exclusions == []
    result = plan(app, model="sa-pricey-model")
    assert [c.deployment for c in result.candidates] == ["sa-pricey"]
    with pytest.raises(UnknownDeployment):
        plan(app, model="no-such-thing")


def test_unknown_capability_is_a_usage_error(app: App) -> None:
    with pytest.raises(ConfigError, match="unknown capability 'telepathy'"):
        plan(app, require=["telepathy"])


def test_arabic_prompt_ranks_by_arabic_quality(app: App) -> None:
    app.catalog = Catalog(
        d.model_copy(update={"quality_by_task": {"arabic": 10}}) if d.id == "sa-cheap" else d
        for d in app.catalog
    )
    result = plan(
        app, request=CompletionRequest.from_prompt("لخص هذه الشكوى في جملتين من فضلك"), strategy="best"
    )
    assert result.task == "arabic"
    assert result.candidates[0].deployment == "sa-cheap"


def test_screen_and_verdicts_are_cached_until_the_catalog_changes(app: App) -> None:
    request = RouteRequest(request=CompletionRequest.from_prompt(PROMPT), principal="p", jurisdiction="SA",
                           data_class="personal")  # fmt: skip
    first = RoutingInput(app.router, request).screen
    assert RoutingInput(app.router, request).screen is first
    assert len(app.router.screener._verdicts) == 5  # pyright: ignore[reportPrivateUsage]
    app.catalog = Catalog(d for d in app.catalog if d.id != "sa-mid")
    rebuilt = RoutingInput(app.router, request).screen
    assert rebuilt is not first
    assert [p.deployment.id for p in rebuilt.passed] == ["sa-cheap", "sa-pricey"]


def test_a_deployment_without_a_price_is_excluded_not_fatal(app: App) -> None:
    free_text = app.catalog.get("sa-mid").model_copy(update={"id": "sa-unpriced", "price": None})
    app.catalog = Catalog([*app.catalog, free_text])
    result = plan(app, jurisdiction="SA", data_class="personal")
    assert len(result.candidates) == 3
    (unpriced,) = [e for e in result.exclusions if e.deployment == "sa-unpriced"]
    assert unpriced.stage == "price" and "has no price" in unpriced.reason


def test_jurisdiction_aliases_are_canonical_in_the_plan(app: App) -> None:
    assert plan(app, jurisdiction="eea", data_class="personal").jurisdiction == "EU"
    assert plan(app, jurisdiction="ae-difc", data_class="personal").jurisdiction == "AE-DIFC"
