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

import heapq
import math
import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

Strategy = Literal["cheapest", "fastest", "best", "balanced"]
STRATEGIES: tuple[Strategy, ...] = ("cheapest", "fastest", "best", "balanced")
BALANCED_WEIGHTS = {"cost": 0.4, "latency": 0.3, "quality": 0.3}
_EPSILON_USD = 1e-9  # lets a free (on-prem) deployment rank first without taking log(0)
_FLOOR = 1e-12  # no log of zero: a latency of 0 ms (unreported) counts as the fastest
_LOG_FLOOR = math.log10(_FLOOR)
COST_DECADES = 2.0  # a candidate this many powers of ten dearer than the cheapest scores 0 on cost
LATENCY_DECADES = 1.0


class Option(NamedTuple):
    """What ranking needs to know about one candidate (a tuple: built once per deployment per request)."""

    deployment: str
    expected_usd: float  # for ordering only
    latency_ms: float
    quality: int  # 1..10, for the request's task


def _log_scores(logs: list[float], decades: float) -> list[float]:
    """1 for the smallest log10 value, falling by 1/decades per power of ten above it, floored at 0."""
    best, per = min(logs), 1.0 / decades
    return [1.0 - drop if (drop := (log - best) * per) < 1.0 else 0.0 for log in logs]


def scores(options: Sequence[Option], strategy: Strategy) -> list[float]:
    """One score per option (same order), in [0, 1], higher is better. Written as few flat passes:
    it runs over every candidate of every routing decision."""
    if not options:
        return []
    if strategy == "best":
        return [o.quality / 10 for o in options]
    log10 = math.log10
    cost: list[float] = []
    if strategy != "fastest":
        cost = _log_scores([log10(o.expected_usd + _EPSILON_USD) for o in options], COST_DECADES)
        if strategy == "cheapest":
            return cost
    latency = _log_scores(
        [log10(o.latency_ms) if o.latency_ms > _FLOOR else _LOG_FLOOR for o in options], LATENCY_DECADES
    )
    if strategy == "fastest":
        return latency
    w_cost, w_latency, w_quality = (
        BALANCED_WEIGHTS["cost"],
        BALANCED_WEIGHTS["latency"],
        BALANCED_WEIGHTS["quality"],
    )
    return [
        w_cost * c + w_latency * lat + w_quality * o.quality / 10
        for c, lat, o in zip(cost, latency, options, strict=True)
    ]


def rank(
    options: Sequence[Option], strategy: Strategy, limit: int | None = None
) -> list[tuple[Option, float]]:
    """The best `limit` options (all by default), best first; ties (e.g. past the score floor) broken
    by cost then latency — for `fastest` by latency then cost — then id, so the order is deterministic."""
    if limit == 1 and options and strategy != "balanced":
        return [_first(options, strategy)]
    values = scores(options, strategy)
    if strategy == "fastest":
        keys = [
            (-v, o.latency_ms, o.expected_usd, o.deployment, i)
            for i, (o, v) in enumerate(zip(options, values, strict=True))
        ]
    else:
        keys = [
            (-v, o.expected_usd, o.latency_ms, o.deployment, i)
            for i, (o, v) in enumerate(zip(options, values, strict=True))
        ]
    ordered = heapq.nsmallest(limit, keys) if limit is not None and limit < len(keys) else sorted(keys)
    return [(options[key[4]], -key[0]) for key in ordered]


def _first(options: Sequence[Option], strategy: Strategy) -> tuple[Option, float]:
    """The option `rank` puts first, without scoring the rest: a single-criterion score falls as its
    criterion worsens, so the best is the minimum of the same tie-break key (what a replay asks for)."""
    if strategy == "cheapest":
        return min(options, key=lambda o: (o.expected_usd, o.latency_ms, o.deployment)), 1.0
    if strategy == "fastest":
        return min(options, key=lambda o: (o.latency_ms, o.expected_usd, o.deployment)), 1.0
    top = min(options, key=lambda o: (-o.quality, o.expected_usd, o.latency_ms, o.deployment))
    return top, top.quality / 10


_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")


def task_of(text: str, *, sample: int = 2000) -> str | None:
    """The task a quality score is looked up for: "arabic" when most letters are Arabic script."""
    head = text[:sample]
    arabic = len(_ARABIC.findall(head))
    if not arabic:
        return None
    return "arabic" if arabic * 2 > len(_LETTER.findall(head)) else None
