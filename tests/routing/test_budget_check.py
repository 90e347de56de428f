"""A routing decision's budget check: the float shortcut excludes exactly what the exact Decimal check does.

With a budget, every deployment's maximum cost is checked against what is left. Far inside the budget
a float maximum decides (`routing._room`); close to it, or on long-context tiers, the exact Decimal
maximum and `Headroom.refusal` do. Limits here are set to deployments' exact maximum costs and a hair
either side of them, where a float shortcut would go wrong if its margin were too thin.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyroute.app import App
from polyroute.budget import refusal
from polyroute.catalog import Catalog, load_catalog
from polyroute.errors import ConfigError
from polyroute.routing import RouteRequest, RoutingInput
from polyroute.settings import Budget, Settings
from polyroute.types import CompletionRequest

PROMPT = "Summarise the complaint below in two sentences. The parcel arrived late and damaged."


def _catalog(count: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    return [
        {
            "id": f"budget-{i:03d}",
            "provider": "openai_compatible",
            "model": rng.choice(["gpt-4o-x", "claude-x-4-6", "open-x"]),
            "base_url": "http://127.0.0.1:9/v1",
            "location": "US",
            "capabilities": ["json"],
            "context_window": 128000,
            "max_output_tokens": 4096,
            "price": {
                "input_per_mtok": str(rng.choice([0, 0.1, 1, 3, 15]) + rng.randint(0, 99) / 1000),
                "output_per_mtok": str(rng.choice([0, 0.4, 4, 15, 75]) + rng.randint(0, 99) / 1000),
            },
        }  # fmt: skip
        for i in range(count)
    ]


def _app(tmp_path: Path, limit: Decimal) -> App:
    budgets = [Budget(scope="principal:budget", period="day", limit_usd=limit)]
    app = App(Settings(data_dir=tmp_path / f"data-{limit}", budgets=budgets), principal="budget")
    app.catalog = Catalog([*app.catalog, *load_catalog(_catalog(60), bundled=False)])
    return app


def _route(max_tokens: int) -> RouteRequest:
    request = CompletionRequest.from_prompt(PROMPT, max_tokens=max_tokens)
    return RouteRequest(request=request, jurisdiction="US", data_class="internal", principal="budget")


def _maxima_of(app: App, route: RouteRequest) -> dict[str, Decimal]:
    """Each priced deployment's exact maximum cost for the request (unpriced ones are excluded at the
    price stage, never asked about the budget)."""
    resolved = RoutingInput(app.router, route)
    found: dict[str, Decimal] = {}
    for passed in resolved.screen.passed:
        count = resolved.counts[passed.counting_key]
        try:
            estimate = app.router.prices.estimate(passed.deployment, count.tokens, count.error_band, 300)
        except ConfigError:
            continue
        found[passed.deployment.id] = estimate.max_usd
    return found


def _exact_refusals(app: App, route: RouteRequest) -> dict[str, str]:
    """What the budget check excludes when every deployment's maximum is computed exactly."""
    headroom = app.router.budgets.headroom("budget")
    assert headroom is not None
    refused = {d: headroom.refusal(most) for d, most in _maxima_of(app, route).items()}
    return {d: reason for d, reason in refused.items() if reason is not None}


def _maxima(tmp_path: Path) -> list[Decimal]:
    return sorted(set(_maxima_of(_app(tmp_path, Decimal("1")), _route(300)).values()))


def test_limits_on_and_around_deployments_maxima_exclude_as_the_exact_check_does(tmp_path: Path) -> None:
    maxima = _maxima(tmp_path)
    assert len(maxima) > 20
    hair = Decimal("1e-15")
    limits = {m + delta for m in maxima[:: max(1, len(maxima) // 12)] for delta in (-hair, Decimal(0), hair)}
    for limit in sorted(limit for limit in limits if limit > 0):
        app = _app(tmp_path, limit)
        plan = app.router.plan(_route(300))
        refused = {e.deployment: e.reason for e in plan.exclusions if e.stage == "budget"}
        assert refused == _exact_refusals(app, _route(300)), limit


def test_a_call_exactly_at_the_limit_fits_and_a_hair_above_does_not(tmp_path: Path) -> None:
    most = _maxima(tmp_path)[5]
    key_name = "principal:budget per day"
    for limit, refused in ((most, False), (most - Decimal("1e-20"), True)):
        app = _app(tmp_path, limit)
        plan = app.router.plan(_route(300))
        over = [e for e in plan.exclusions if e.stage == "budget" and key_name in e.reason]
        assert any(f"up to ${most.normalize():f}" in e.reason for e in over) is refused


@pytest.mark.parametrize("used_up", [True, False])
def test_a_used_up_budget_refuses_every_deployment_alike(tmp_path: Path, used_up: bool) -> None:
    app = _app(tmp_path, Decimal("0.0001"))
    if used_up:
        app.router.budgets.reserve("budget", Decimal("0.0001"))
    plan = app.router.plan(_route(300))
    reasons = {e.reason for e in plan.exclusions if e.stage == "budget"}
    if used_up:
        assert len(reasons) == 1 and "is used up" in next(iter(reasons)) and not plan.candidates
    else:
        assert plan.candidates and reasons == set(_exact_refusals(app, _route(300)).values())


def test_the_refusal_rule_is_unchanged_by_writing_its_words_late() -> None:
    from polyroute.budget import BudgetKey

    key = BudgetKey("principal:x", "day", "2026-12-04", Decimal("1"))
    assert refusal(key, Decimal("0.5"), Decimal("0.25"), Decimal("0.25")) is None
    over = refusal(key, Decimal("0.5"), Decimal("0.25"), Decimal("0.26"))
    assert over == (
        "budget principal:x per day (2026-12-04) would be exceeded: limit $1, spent $0.5, reserved $0.25 "
        "for calls in flight, this call may cost up to $0.26; it resets at 2026-12-05 00:00 UTC"
    )
    assert refusal(key, Decimal("1"), Decimal("0"), Decimal("0")) == (
        "budget principal:x per day (2026-12-04) is used up: limit $1, spent $1, reserved $0 for calls in "
        "flight; no new call until it resets at 2026-12-05 00:00 UTC"
    )
