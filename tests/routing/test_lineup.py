"""The fast decision (`planning.choose` over a `Lineup`) against a straightforward one, on random input.

The reference below is the loop the router used before `lineup`: every row of the screen priced,
checked and scored, every option ranked by its whole key. Random catalogs mix bundled deployments
(library prices with long-context tiers, Arabic quality) with synthetic ones (random limits, prices,
latencies, some unpriced, some with per-minute limits); random requests vary strategy, capabilities,
task, max_tokens, token counts (up to past the tiers and the windows) and error bands; random
conditions open breakers, observe latencies, hit capacity and budgets. Decisions, scores, exclusions
and counts must be equal — the same floats, not close ones.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyroute.app import App
from polyroute.catalog import Catalog, Deployment, load_catalog
from polyroute.cost import default_expected_output
from polyroute.planning import MAX_CANDIDATES, Choice, PlanFacts, choose, context_reason, plan_from_facts
from polyroute.pricebook import PriceBook
from polyroute.ranking import BALANCED_WEIGHTS, STRATEGIES, Option, Strategy
from polyroute.screen import Exclusion, Passed, Screen, Screener
from polyroute.settings import Settings

APP = App(Settings(data_dir=Path(tempfile.mkdtemp(prefix="lineup-"))), principal="local:lineup")
BUNDLED = list(APP.catalog)
PLACES = ["SA", "AE", "DE", "FR", "US", "EEA", "GCC", "ANY", "JP"]
CAPS = ["vision", "json", "reasoning", "arabic", "long_context", "tools"]
CASES = [("EU", "personal"), ("SA", "personal"), ("US", "internal"), ("unspecified", "public"),
         ("AE", "health")]  # fmt: skip


def _synthetic(draw: st.DrawFn, i: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"syn-{i:03d}", "provider": "openai_compatible",
        "model": draw(st.sampled_from(["gpt-4o-syn", "claude-syn", "open-syn", f"solo-{i}"])),
        "base_url": "http://127.0.0.1:9/v1", "location": draw(st.sampled_from(PLACES)),
        "capabilities": draw(st.lists(st.sampled_from(CAPS), max_size=4, unique=True)),
        "context_window": draw(st.sampled_from([4096, 8192, 128000, 200000])),
        "max_output_tokens": draw(st.sampled_from([1024, 4096])),
        "quality": draw(st.integers(1, 10)),
        "latency_prior_ms": draw(st.sampled_from([300, 800, 800, 1500, 4000])),
    }  # fmt: skip
    if draw(st.booleans()):
        entry["max_input_tokens"] = draw(st.integers(1000, 100000))
    if draw(st.integers(0, 9)):  # one in ten without a price
        price = st.sampled_from(["0", "0.01", "1", "1", "2.5", "15", "30"])  # repeats make ties
        entry["price"] = {"input_per_mtok": draw(price), "output_per_mtok": draw(price)}
    if not draw(st.integers(0, 5)):
        entry["limits"] = {"requests_per_minute": 60}
    if draw(st.booleans()):
        entry["quality_by_task"] = {"arabic": draw(st.integers(1, 10))}
    return entry


@st.composite
def catalogs(draw: st.DrawFn) -> list[Deployment]:
    bundled = draw(st.lists(st.sampled_from(BUNDLED), max_size=20, unique_by=lambda d: d.id))
    synthetic = [_synthetic(draw, i) for i in range(draw(st.integers(0, 60)))]
    return [*bundled, *load_catalog(synthetic, bundled=False)]


class FakeConditions:
    """Breakers, observed latencies, capacity and budget as random sets; honours `watched`'s contract."""

    def __init__(self, blocked: set[str], timed: dict[str, float], full: bool, budget: float | None) -> None:
        self.blocked, self.timed, self.full, self.budget = blocked, timed, full, budget
        self.prices = PriceBook()

    def watched(self) -> Collection[str] | None:
        return None if self.budget is not None else self.blocked | set(self.timed)

    def latency_ms(self, deployment: Deployment) -> float:
        return self.timed.get(deployment.id, deployment.latency_prior_ms)

    def exclude(self, passed: Passed, tokens: int, band: float, max_tokens: int) -> Exclusion | None:
        deployment = passed.deployment
        if deployment.id in self.blocked:
            return Exclusion(deployment=deployment.id, stage="health", reason="circuit open")
        if passed.limited and self.full:
            return Exclusion(deployment=deployment.id, stage="capacity", reason="at its limit")
        if self.budget is not None:
            most = self.prices.estimate(deployment, tokens, band, max_tokens).max_usd
            if most > self.budget:
                return Exclusion(deployment=deployment.id, stage="budget", reason=f"{most} > budget")
        return None


def reference_choose(
    facts: PlanFacts, screen: Screen, prices: PriceBook, conditions: FakeConditions | None, limit: int | None
) -> Choice:
    """Every row: context, price, conditions, then an option; all scored, all sorted by their whole key."""
    expected_output = default_expected_output(facts.max_tokens)
    kept: dict[str, Passed] = {}
    options: list[Option] = []
    exclusions = list(screen.excluded)
    for row in prices.rows(screen):
        count, max_tokens = facts.tokens[row.counting_key], facts.max_tokens
        too_long = count > row.input_limit or count + max_tokens > row.context_window
        if too_long or max_tokens > row.max_output_tokens:
            reason = context_reason(row.passed.deployment, count, max_tokens)
            exclusions.append(Exclusion(deployment=row.id, stage="context", reason=reason))
            continue
        if not row.priced:
            reason = prices.unpriced(row.passed.deployment)
            exclusions.append(Exclusion(deployment=row.id, stage="price", reason=reason))
            continue
        rates = next((tier for tier in row.tiers if count > tier[0]), (0, row.input_rate, row.output_rate))
        expected = rates[1] * count + rates[2] * expected_output
        latency = row.latency_prior_ms
        if conditions is not None:
            band = facts.bands.get(row.counting_key, 0.0)
            excluded = conditions.exclude(row.passed, count, band, max_tokens)
            if excluded is not None:
                exclusions.append(excluded)
                continue
            latency = conditions.latency_ms(row.passed.deployment)
        kept[row.id] = row.passed
        options.append(Option(row.id, expected, latency, row.passed.deployment.quality_for(facts.task)))
    ranked = reference_rank(options, facts.strategy)[:limit]
    return Choice(ranked, {o.deployment: kept[o.deployment] for o, _ in ranked}, exclusions, len(options))


def reference_rank(options: list[Option], strategy: Strategy) -> list[tuple[Option, float]]:
    if not options:
        return []
    cost_logs = [math.log10(o.expected_usd + 1e-9) for o in options]
    latency_logs = [math.log10(o.latency_ms) if o.latency_ms > 1e-12 else -12.0 for o in options]
    cost = _log_scores(cost_logs, 2.0)
    latency = _log_scores(latency_logs, 1.0)
    weights = BALANCED_WEIGHTS
    score = {
        "cheapest": cost,
        "fastest": latency,
        "best": [o.quality / 10 for o in options],
        "balanced": [
            weights["cost"] * c + weights["latency"] * lat + weights["quality"] * o.quality / 10
            for c, lat, o in zip(cost, latency, options, strict=True)
        ],
    }[strategy]
    if strategy == "fastest":
        keys = [(-s, o.latency_ms, o.expected_usd, o.deployment) for s, o in zip(score, options, strict=True)]
    else:
        keys = [(-s, o.expected_usd, o.latency_ms, o.deployment) for s, o in zip(score, options, strict=True)]
    order = sorted(range(len(options)), key=keys.__getitem__)
    return [(options[i], score[i]) for i in order]


def _log_scores(logs: list[float], decades: float) -> list[float]:
    best, per = min(logs), 1.0 / decades
    return [1.0 - drop if (drop := (log - best) * per) < 1.0 else 0.0 for log in logs]


@st.composite
def conditions(draw: st.DrawFn, ids: list[str]) -> FakeConditions | None:
    if not draw(st.integers(0, 3)):
        return None
    blocked = set(draw(st.lists(st.sampled_from(ids), max_size=5))) if ids else set[str]()
    timed_ids = draw(st.lists(st.sampled_from(ids), max_size=5)) if ids else []
    timed = {i: draw(st.sampled_from([0.0, 120.0, 800.0, 9000.0])) for i in timed_ids}
    budget = draw(st.one_of(st.none(), st.sampled_from([0.0, 1e-5, 0.001, 1.0])))
    return FakeConditions(blocked, timed, draw(st.booleans()), budget)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), deployments=catalogs())
def test_the_fast_decision_equals_the_straightforward_one(
    data: st.DataObject, deployments: list[Deployment]
) -> None:
    catalog = Catalog(deployments)
    APP.catalog = catalog
    jurisdiction, data_class = data.draw(st.sampled_from(CASES))
    required = tuple(sorted(data.draw(st.lists(st.sampled_from(CAPS), max_size=2, unique=True))))
    screen = Screener(APP).screen(  # fresh: synthetic ids name other deployments in each example
        list(catalog), whole_catalog=True, jurisdiction=jurisdiction, data_class=data_class, required=required
    )
    keys = sorted({p.counting_key for p in screen.passed})
    big = st.one_of(st.integers(0, 5000), st.integers(90_000, 300_000))
    strategy: Strategy = data.draw(st.sampled_from(STRATEGIES))
    task = data.draw(st.sampled_from([None, "arabic"]))
    max_tokens = data.draw(st.sampled_from([1, 300, 5000, 20000]))
    tokens = {key: data.draw(big) for key in keys}
    bands = {key: data.draw(st.sampled_from([0.0, 0.15])) for key in keys}
    facts = PlanFacts(
        jurisdiction, data_class, False, strategy, required, None, task, max_tokens, tokens, bands
    )
    live = data.draw(conditions([d.id for d in catalog]))
    limit = data.draw(st.sampled_from([1, 3, MAX_CANDIDATES, None]))
    prices = PriceBook()
    fast = choose(facts, screen, prices, live, limit)
    assert fast == reference_choose(facts, screen, prices, live, limit)
    if live is None:  # what a replay asks: the first alone
        first = fast.ranked[0][0].deployment if fast.ranked else None
        assert prices.lineup(screen).winner(facts, default_expected_output(max_tokens)) == first


def test_a_plan_built_on_the_fast_decision_lists_every_deployment_once() -> None:
    APP.catalog = Catalog(BUNDLED)
    screen = APP.router.screener.screen(
        BUNDLED, whole_catalog=True, jurisdiction="unspecified", data_class="public", required=()
    )
    tokens = {p.counting_key: 950_000 for p in screen.passed}  # past every tier and most windows
    facts = PlanFacts("unspecified", "public", True, "balanced", (), None, None, 4000, tokens)
    plan = plan_from_facts(facts, screen, PriceBook(), policy_version="v", conditions=None)
    listed = [c.deployment for c in plan.candidates] + [e.deployment for e in plan.exclusions]
    assert sorted(listed) == sorted({*listed}) and len(listed) + plan.more_candidates == len(BUNDLED)
    assert {e.stage for e in plan.exclusions} == {"context"} and plan.candidates
