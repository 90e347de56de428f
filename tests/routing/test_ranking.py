"""Strategy scores and the Arabic-task detector, on plain options (no catalog, no policy)."""

from __future__ import annotations

import pytest

from polyroute.ranking import BALANCED_WEIGHTS, Option, rank, scores, task_of

CHEAP_SLOW = Option("cheap-slow", 0.001, 4000.0, 6)
PRICEY_FAST = Option("pricey-fast", 0.010, 400.0, 9)
MIDDLE = Option("middle", 0.002, 900.0, 8)
FREE_LOCAL = Option("free-local", 0, 2500.0, 4)


def order(options: list[Option], strategy: str) -> list[str]:
    return [option.deployment for option, _ in rank(options, strategy)]  # type: ignore[arg-type]


def test_cheapest_fastest_best_each_pick_their_extreme() -> None:
    options = [CHEAP_SLOW, PRICEY_FAST, MIDDLE]
    assert order(options, "cheapest") == ["cheap-slow", "middle", "pricey-fast"]
    assert order(options, "fastest") == ["pricey-fast", "middle", "cheap-slow"]
    assert order(options, "best") == ["pricey-fast", "middle", "cheap-slow"]


def test_balanced_prefers_the_all_rounder_and_uses_documented_weights() -> None:
    assert order([CHEAP_SLOW, PRICEY_FAST, MIDDLE], "balanced")[0] == "middle"
    (only,) = scores([MIDDLE], "balanced")
    assert only == pytest.approx(BALANCED_WEIGHTS["cost"] + BALANCED_WEIGHTS["latency"] + 0.3 * 0.8)
    assert sum(BALANCED_WEIGHTS.values()) == pytest.approx(1.0)


def test_scores_are_in_unit_interval_and_free_deployment_ranks_first_on_cost() -> None:
    options = [CHEAP_SLOW, PRICEY_FAST, MIDDLE, FREE_LOCAL]
    for strategy in ("cheapest", "fastest", "best", "balanced"):
        assert all(0 <= score <= 1 for score in scores(options, strategy))  # type: ignore[arg-type]
    assert order(options, "cheapest")[0] == "free-local"


def test_ties_break_by_cost_then_latency_then_id() -> None:
    a = Option("b-dep", 0.01, 500.0, 7)
    b = Option("a-dep", 0.01, 500.0, 7)
    c = Option("c-dep", 0.005, 900.0, 7)
    assert order([a, b, c], "best") == ["c-dep", "a-dep", "b-dep"]


def test_empty_input_ranks_to_nothing() -> None:
    assert rank([], "balanced") == []


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("ما هي عاصمة المملكة العربية السعودية؟", "arabic"),
        ("Translate: ما هي عاصمة المملكة العربية السعودية وما هو عدد سكانها", "arabic"),
        ("What is the capital of Saudi Arabia? (الرياض)", None),
        ("12345 !!!", None),
        ("", None),
    ],
)
def test_task_is_arabic_when_most_letters_are_arabic(text: str, task: str | None) -> None:
    assert task_of(text) == task


def test_past_the_score_floor_fastest_still_orders_by_latency_and_cheapest_by_cost() -> None:
    quick = Option("quick", 5, 100.0, 5)
    slow = Option("slow", 0.001, 5000.0, 5)
    slower = Option("slower", 0.0001, 9000.0, 5)
    assert order([slower, slow, quick], "fastest") == ["quick", "slow", "slower"]
    pricey = Option("pricey", 50, 10.0, 5)
    assert order([pricey, quick, slower], "cheapest") == ["slower", "quick", "pricey"]


def test_zero_latency_and_zero_cost_do_not_break_scoring() -> None:
    unreported = Option("unreported", 0.0, 0.0, 5)
    normal = Option("normal", 0.01, 800.0, 5)
    for strategy in ("cheapest", "fastest", "best", "balanced"):
        assert all(0 <= s <= 1 for s in scores([unreported, normal], strategy))  # type: ignore[arg-type]
    assert order([normal, unreported], "fastest")[0] == "unreported"


def test_the_first_of_a_single_criterion_ranking_is_found_without_scoring_the_rest() -> None:
    import random

    from polyroute.ranking import STRATEGIES, Option, rank

    rng = random.Random(11)
    for _ in range(300):
        costs, latencies = [0.0, 1e-6, 2e-6, rng.random()], [0.0, 500.0, rng.random() * 4000]
        options = [
            Option(f"d{i}", rng.choice(costs), rng.choice(latencies), rng.randint(1, 10))
            for i in range(rng.randint(1, 12))
        ]
        for strategy in STRATEGIES:
            assert rank(options, strategy, 1) == rank(options, strategy)[:1]
