"""`usagecalibration`: what the ratios of real to estimated input tokens do to a later count.

End to end (routed calls against the wire fakes, then `estimate_cost` and `summarize_usage`):
tests/routing/test_usage_calibration.py."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from tests.cost.conftest import deployment

from polyroute import cost
from polyroute.audit import EventDraft
from polyroute.catalog import Catalog
from polyroute.tokencount import TokenCount, count_tokens, counting_key
from polyroute.types import Usage
from polyroute.usagecalibration import FLOOR_BAND, MIN_CALLS, RATIO_LIMIT, WINDOW, UsageCalibration, fit

CLAUDE = deployment("claude", model="claude-sonnet-4-6")
GPT = deployment(
    "gpt", provider="openai", model="gpt-4o", price_ref={"model_ref": "gpt-4o", "provider_id": "openai"}
)
TEXT = "The tenant shall pay the rent monthly in advance on the first day of each calendar month. " * 5


def _calibration() -> UsageCalibration:
    return UsageCalibration(Catalog([CLAUDE, GPT]))


def _receipt(target: str, estimated: int, actual: Usage, **fields: object) -> EventDraft:
    key = counting_key(CLAUDE if target == "claude" else GPT)
    return EventDraft.model_validate({
        "event_type": "completion", "principal": "p", "deployment": target, "usage": actual,
        "details": {"token_counts": {key: estimated, "other": 1}}, **fields,
    })  # fmt: skip


def test_a_steady_ratio_moves_the_count_and_narrows_the_band_to_the_floor() -> None:
    calibration = _calibration()
    raw = count_tokens(TEXT, CLAUDE)
    for _ in range(MIN_CALLS):
        assert calibration.observe(CLAUDE.model, 100, 120)
    moved = calibration.adjust(CLAUDE, raw)
    assert moved.tokens == round(raw.tokens * 1.2) and moved.error_band == FLOOR_BAND
    assert moved.calibrated_calls == MIN_CALLS and moved.method == "heuristic"
    quote = cost.quote(CLAUDE, moved, max_tokens=100)
    assert (
        quote.calibrated_calls == MIN_CALLS
        and quote.input_tokens_min < raw.tokens * 1.2 < quote.input_tokens_max
    )


def test_one_wild_call_moves_nothing_and_impossible_ratios_are_set_aside() -> None:
    calibration = _calibration()
    for ratio in (1.10, 1.12, 1.11, 1.09, 1.10, 3.5):  # an uncounted image in the last call
        calibration.observe(CLAUDE.model, 1000, round(1000 * ratio))
    assert not calibration.observe(CLAUDE.model, 1000, int(1000 * RATIO_LIMIT) + 10)
    assert not calibration.observe(CLAUDE.model, 1000, 0) and not calibration.observe(CLAUDE.model, 0, 5)
    found = calibration.fit(CLAUDE.model)
    assert found is not None and found.calls == 6 and found.ratio == pytest.approx(1.105)
    assert found.band < 0.06  # the 3.5× call widens nothing: the others agree within ±2 %


def test_the_window_forgets_old_traffic() -> None:
    calibration = _calibration()
    for _ in range(WINDOW):
        calibration.observe(CLAUDE.model, 100, 200)
    for _ in range(WINDOW):
        calibration.observe(CLAUDE.model, 100, 110)
    found = calibration.fit(CLAUDE.model)
    assert found is not None and found.ratio == pytest.approx(1.1) and found.calls == WINDOW


def test_spread_of_many_calls_sets_the_band_and_small_samples_are_widened() -> None:
    rng = random.Random(7)
    ratios = [1.3 + rng.uniform(-0.13, 0.13) for _ in range(40)]
    found = fit(ratios)
    assert found is not None and found.band < 0.25
    assert all(abs(r / found.ratio - 1) <= found.band for r in ratios)  # ±10 % observed: all inside
    steady = fit([1.0, 1.0, 1.0, 1.0, 1.1])
    assert steady is not None and steady.band == FLOOR_BAND  # never narrower than the floor
    few, many = fit([1.0, 1.05, 1.1, 1.15, 1.2]), fit([1.0, 1.05, 1.1, 1.15, 1.2] * 10)
    assert few is not None and many is not None and few.band > many.band  # a small sample: wider
    assert fit([1.2] * (MIN_CALLS - 1)) is None


def test_a_calibrated_estimate_never_quotes_zero_tokens_or_zero_dollars_for_text() -> None:
    calibration = _calibration()
    for _ in range(MIN_CALLS):
        calibration.observe(CLAUDE.model, 800, 100)  # the heuristic counted 8× too much
    for text in ("a", "hi", ".", "ok then", TEXT):
        counted = calibration.adjust(CLAUDE, count_tokens(text, CLAUDE))
        quote = cost.quote(CLAUDE, counted, max_tokens=10)
        assert counted.calibrated_calls == MIN_CALLS and counted.tokens >= 1
        assert quote.input_tokens_min >= 1 and quote.min_usd > Decimal(0)


def test_exact_given_and_unusual_counts_are_not_calibrated() -> None:
    calibration = _calibration()
    for _ in range(MIN_CALLS):
        calibration.observe(CLAUDE.model, 100, 150)
        calibration.observe(GPT.model, 100, 150)
    exact = count_tokens(TEXT, GPT)
    assert exact.method == "exact" and calibration.adjust(GPT, exact) == exact
    given = TokenCount(tokens=500, method="exact", tokenizer="given", error_band=0.0)
    assert calibration.adjust(CLAUDE, given) == given
    unusual = count_tokens("aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCB0ZXh0IGZvciBh " * 20, CLAUDE)
    assert "+unusual" in unusual.tokenizer and calibration.adjust(CLAUDE, unusual) == unusual
    assert calibration.adjust(CLAUDE, count_tokens("", CLAUDE)).tokens == 0


def test_receipts_teach_only_heuristic_completions_and_bad_ones_teach_nothing() -> None:
    calibration = _calibration()
    whole = Usage(input_tokens=60, cache_read_tokens=50, cache_write_tokens=10, output_tokens=5)
    assert calibration.learn(_receipt("claude", 100, whole))  # 120 of input, cache included
    assert not calibration.learn(_receipt("gpt", 100, whole))  # exact: nothing to learn
    assert not calibration.learn(_receipt("claude", 100, whole, event_type="failure"))
    assert not calibration.learn(_receipt("gone", 100, whole))  # no longer in the catalog
    broken = _receipt("claude", 100, whole)
    broken.details["token_counts"] = "not a mapping"
    assert not calibration.learn(broken)
    for _ in range(MIN_CALLS - 1):
        calibration.learn(_receipt("claude", 100, whole))
    found = calibration.fit(CLAUDE.model)
    assert found is not None and found.ratio == pytest.approx(1.2)


def test_seeded_receipts_sit_behind_calls_learned_live() -> None:
    calibration = _calibration()
    for _ in range(WINDOW):
        calibration.observe(CLAUDE.model, 100, 110)  # live: the newest
    older = [_receipt("claude", 100, Usage(input_tokens=300)) for _ in range(10)]
    assert calibration.seed_from(older) == 10
    found = calibration.fit(CLAUDE.model)
    assert found is not None and found.ratio == pytest.approx(1.1) and found.calls == WINDOW
