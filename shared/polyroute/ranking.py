"""Ranking compliant candidates by strategy: cheapest, fastest, best, balanced.

Every strategy yields a score in [0, 1], higher is better, so plans read the same whatever the
strategy. Ratios against the best candidate (cheapest cost / this cost) rather than min-max spans keep
scores stable when one outlier joins the set.

Balanced weights: cost 0.4, latency 0.3, quality 0.3 — cost leads because it differs by orders of
magnitude between deployments while quality tiers differ by a few points; latency counts as much as
quality because an agent waiting on a slow call is a visible cost too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Strategy = Literal["cheapest", "fastest", "best", "balanced"]
STRATEGIES: tuple[Strategy, ...] = ("cheapest", "fastest", "best", "balanced")
BALANCED_WEIGHTS = {"cost": 0.4, "latency": 0.3, "quality": 0.3}
_EPSILON_USD = 1e-9  # lets a free (on-prem) deployment rank first without dividing by zero


@dataclass(frozen=True)
class Option:
    """What ranking needs to know about one candidate."""

    deployment: str
    expected_usd: Decimal
    latency_ms: float
    quality: int  # 1..10, for the request's task


def _ratio(best: float, value: float) -> float:
    return best / value if value > 0 else 1.0


def scores(options: Sequence[Option], strategy: Strategy) -> list[float]:
    """One score per option (same order), in [0, 1], higher is better."""
    if not options:
        return []
    cheapest = min(float(o.expected_usd) for o in options) + _EPSILON_USD
    fastest = min(o.latency_ms for o in options)
    cost = [_ratio(cheapest, float(o.expected_usd) + _EPSILON_USD) for o in options]
    latency = [_ratio(fastest, o.latency_ms) for o in options]
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
