"""Ranking compliant candidates by strategy: cheapest, fastest, best, balanced.

Every strategy yields a score in [0, 1], higher is better, so plans read the same whatever the
strategy. Cost and latency score on a log scale against the best candidate: prices differ by orders of
magnitude, so "twice the price" should cost a fixed amount of score whatever the absolute prices.
Cost: 1 for the cheapest, 0.5 at 10× its price, 0 from 100×. Latency: 1 for the fastest, 0 from 10×
slower. Quality: the catalog's tier (per task when it differs, e.g. Arabic) divided by 10.

Balanced weights: cost 0.4, latency 0.3, quality 0.3 — cost leads because it is the one users set
budgets on; latency counts as much as quality because an agent waiting on a slow call is a visible
cost too. So a deployment at twice the cheapest price breaks even with two more quality tiers; at
twice the price and twice the latency, with five.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Strategy = Literal["cheapest", "fastest", "best", "balanced"]
STRATEGIES: tuple[Strategy, ...] = ("cheapest", "fastest", "best", "balanced")
BALANCED_WEIGHTS = {"cost": 0.4, "latency": 0.3, "quality": 0.3}
_EPSILON_USD = 1e-9  # lets a free (on-prem) deployment rank first without dividing by zero
COST_DECADES = 2.0  # a candidate this many powers of ten dearer than the cheapest scores 0 on cost
LATENCY_DECADES = 1.0


@dataclass(frozen=True)
class Option:
    """What ranking needs to know about one candidate."""

    deployment: str
    expected_usd: Decimal
    latency_ms: float
    quality: int  # 1..10, for the request's task


def _log_score(best: float, value: float, decades: float) -> float:
    if value <= best or best <= 0:
        return 1.0 if value <= best else 0.0
    return max(0.0, 1.0 - math.log10(value / best) / decades)


def scores(options: Sequence[Option], strategy: Strategy) -> list[float]:
    """One score per option (same order), in [0, 1], higher is better."""
    if not options:
        return []
    cheapest = min(float(o.expected_usd) for o in options) + _EPSILON_USD
    fastest = min(o.latency_ms for o in options)
    cost = [_log_score(cheapest, float(o.expected_usd) + _EPSILON_USD, COST_DECADES) for o in options]
    latency = [_log_score(fastest, o.latency_ms, LATENCY_DECADES) for o in options]
    quality = [o.quality / 10 for o in options]
    if strategy == "cheapest":
        return cost
    if strategy == "fastest":
        return latency
    if strategy == "best":
        return quality
    weights = BALANCED_WEIGHTS
    return [
        weights["cost"] * c + weights["latency"] * lat + weights["quality"] * q
        for c, lat, q in zip(cost, latency, quality, strict=True)
    ]


def rank(options: Sequence[Option], strategy: Strategy) -> list[tuple[Option, float]]:
    """Options best first; ties broken by expected cost, then latency, then id (deterministic)."""
    scored = zip(options, scores(options, strategy), strict=True)
    return sorted(
        scored, key=lambda pair: (-pair[1], pair[0].expected_usd, pair[0].latency_ms, pair[0].deployment)
    )


def _is_arabic(char: str) -> bool:
    code = ord(char)
    return (
        0x0600 <= code <= 0x06FF
        or 0x0750 <= code <= 0x077F
        or 0x08A0 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFEFF
    )


def task_of(text: str, *, sample: int = 2000) -> str | None:
    """The task a quality score is looked up for: "arabic" when most letters are Arabic script."""
    letters = [char for char in text[:sample] if char.isalpha()]
    if not letters:
        return None
    arabic = sum(1 for char in letters if _is_arabic(char))
    return "arabic" if arabic * 2 > len(letters) else None
