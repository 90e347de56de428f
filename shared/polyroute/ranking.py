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
import re
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

Strategy = Literal["cheapest", "fastest", "best", "balanced"]
STRATEGIES: tuple[Strategy, ...] = ("cheapest", "fastest", "best", "balanced")
BALANCED_WEIGHTS = {"cost": 0.4, "latency": 0.3, "quality": 0.3}
_EPSILON_USD = 1e-9  # lets a free (on-prem) deployment rank first without taking log(0)
_FLOOR = 1e-12  # no log of zero: a latency of 0 ms (unreported) counts as the fastest
_LOG_FLOOR = math.log10(_FLOOR)
COST_DECADES = 2.0  # a candidate this many powers of ten dearer than the cheapest scores 0 on cost
LATENCY_DECADES = 1.0
_FEW = 64  # options that are cheaper to compare whole than to narrow down first


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


def latency_log(latency_ms: float) -> float:
    """The log10 a latency scores on (a latency of 0 ms, unreported, counts as the fastest)."""
    return math.log10(latency_ms) if latency_ms > _FLOOR else _LOG_FLOOR


def scores(options: Sequence[Option], strategy: Strategy) -> list[float]:
    """One score per option (same order), in [0, 1], higher is better."""
    return column_scores(
        [o.expected_usd for o in options], [latency_log(o.latency_ms) for o in options],
        [o.quality for o in options], strategy,
    )  # fmt: skip


def column_scores(
    expected: Sequence[float], latency_logs: Sequence[float], quality: Sequence[int], strategy: Strategy
) -> list[float]:
    """`scores` over columns (one value per option in each)."""
    if not expected:
        return []
    if strategy == "best":
        return [q / 10 for q in quality]
    if strategy == "fastest":
        return _log_scores(list(latency_logs), LATENCY_DECADES)
    costs = [math.log10(e + _EPSILON_USD) for e in expected]
    if strategy == "cheapest":
        return _log_scores(costs, COST_DECADES)
    return [-v for v in _balanced_negated(costs, balanced_parts(latency_logs, quality))]


class Parts(NamedTuple):
    """What a balanced score adds to the weighted cost score: the weighted latency and quality scores
    (fixed for a set of options whose latencies do not change: worth keeping). `floored`, when kept:
    minus each option's balanced score were its cost to score 0 (from 100× the cheapest on), which
    then needs no arithmetic per request."""

    latency: list[float]
    quality: list[float]
    floored: list[float] | None = None


def balanced_parts(latency_logs: Sequence[float], quality: Sequence[int], *, keep: bool = False) -> Parts:
    """The parts of these options; `keep`: also their `floored` values (for parts reused by requests)."""
    w_latency, w_quality = BALANCED_WEIGHTS["latency"], BALANCED_WEIGHTS["quality"]
    if not latency_logs:
        return Parts([], [], [] if keep else None)
    latency = [w_latency * score for score in _log_scores(list(latency_logs), LATENCY_DECADES)]
    weighted = [w_quality * q / 10 for q in quality]
    if not keep:
        return Parts(latency, weighted)
    w_cost = BALANCED_WEIGHTS["cost"]
    floored = [-(w_cost * 0.0 + lat + q) for lat, q in zip(latency, weighted, strict=True)]
    return Parts(latency, weighted, floored)


def probe_positions(parts: Parts, limit: int) -> list[int]:
    """The `limit` options with the best latency and quality parts: a balanced ranking's `probe` (any
    `limit` positions are correct; these usually bound the cut closely, as cost is only 0.4 of it)."""
    order = sorted(range(len(parts.latency)), key=lambda i: -(parts.latency[i] + parts.quality[i]))
    return order[:limit]


def _balanced_negated(costs: list[float], parts: Parts) -> list[float]:
    """Minus each balanced score, from the options' log10 costs: one flat pass over every compliant
    candidate of a balanced routing decision (negated, so that the smallest rank first)."""
    w_cost, best, per = BALANCED_WEIGHTS["cost"], min(costs), 1.0 / COST_DECADES
    if parts.floored is not None:  # the same value for the floored, without its arithmetic
        return [
            -(w_cost * (1.0 - drop) + lat + q) if (drop := (c - best) * per) < 1.0 else floored
            for c, lat, q, floored in zip(costs, parts.latency, parts.quality, parts.floored, strict=True)
        ]
    return [
        -(w_cost * (1.0 - drop if (drop := (c - best) * per) < 1.0 else 0.0) + lat + q)
        for c, lat, q in zip(costs, parts.latency, parts.quality, strict=True)
    ]


def rank(
    options: Sequence[Option], strategy: Strategy, limit: int | None = None
) -> list[tuple[Option, float]]:
    """The best `limit` options (all by default), best first; ties (e.g. past the score floor) broken
    by cost then latency — for `fastest` by latency then cost — then id, so the order is deterministic."""
    ranked = rank_columns(
        [o.deployment for o in options], [o.expected_usd for o in options],
        [o.latency_ms for o in options], [latency_log(o.latency_ms) for o in options],
        [o.quality for o in options], strategy, limit,
    )  # fmt: skip
    return [(options[i], score) for i, score in ranked]


def rank_columns(
    ids: Sequence[str], expected: Sequence[float], latency: Sequence[float], latency_logs: Sequence[float],
    quality: Sequence[int], strategy: Strategy, limit: int | None, parts: Parts | None = None,
    probe: Sequence[int] = (),
) -> list[tuple[int, float]]:  # fmt: skip
    """`rank` over columns: (position, score) of the best `limit`, best first. `parts`: the
    `balanced_parts` of these latencies and qualities, when known; `probe`: `limit` positions likely
    to rank well under `balanced` (see `_best`), e.g. those `probe_positions` picks from `parts`.

    Only `balanced` needs every option's score to order them. Each other strategy's score falls as
    one criterion worsens, so ordering by (score, tie-breaks) is ordering by (criterion, tie-breaks):
    the best are picked on the raw columns, and only they are scored (against the best option, which
    is the first one picked)."""
    if not ids:
        return []
    if strategy == "balanced":
        costs = [math.log10(e + _EPSILON_USD) for e in expected]
        first = _balanced_negated(costs, parts or balanced_parts(latency_logs, quality))
        order = _best(first, (expected, latency), ids, limit, probe)
        return [(i, -first[i]) for i in order]
    if strategy == "fastest":
        order = _best(latency, (expected,), ids, limit)
    elif strategy == "cheapest":
        order = _best(expected, (latency,), ids, limit)
    else:
        order = _best([-q for q in quality], (expected, latency), ids, limit)
    return list(zip(order, _picked_scores(order, expected, latency_logs, quality, strategy), strict=True))


def _best(
    first: Sequence[float], rest: tuple[Sequence[float], ...], ids: Sequence[str], limit: int | None,
    probe: Sequence[int] = (),
) -> list[int]:  # fmt: skip
    """Positions of the `limit` smallest keys (first, *rest, id), in order. Only the options whose first
    value is within the `limit` smallest can be among them, so only those get a whole key.

    `probe` (`limit` distinct positions, or empty) spares sorting every first value: the largest of
    theirs bounds the `limit`-th smallest, so only the options at or under it are sorted to find it."""
    n = len(first)
    columns: tuple[Sequence[Any], ...] = (first, *rest, ids, range(n))
    if limit == 1 and n <= _FEW:
        return [min(zip(*columns, strict=True))[-1]]
    if limit is not None and limit < n:
        if len(probe) == limit:
            ceiling = max([first[i] for i in probe])
            near = [i for i, v in enumerate(first) if v <= ceiling]
            bound = sorted([first[i] for i in near])[limit - 1]
            near = [i for i in near if first[i] <= bound]
        else:
            bound = min(first) if limit == 1 else sorted(first)[limit - 1]
            near = [i for i, v in enumerate(first) if v <= bound]
        columns = tuple([column[i] for i in near] for column in columns)
    keys = sorted(zip(*columns, strict=True))
    return [key[-1] for key in keys[:limit]]


def _picked_scores(
    order: list[int], expected: Sequence[float], latency_logs: Sequence[float], quality: Sequence[int],
    strategy: Strategy,
) -> list[float]:  # fmt: skip
    """The scores `column_scores` gives the picked options (best first) for a single-criterion strategy."""
    if strategy == "best":
        return [quality[i] / 10 for i in order]
    if strategy == "fastest":
        logs, decades = [latency_logs[i] for i in order], LATENCY_DECADES
    else:
        logs, decades = [math.log10(expected[i] + _EPSILON_USD) for i in order], COST_DECADES
    return _log_scores(logs, decades)  # the first picked has the smallest log of all: the same best


_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")


def task_of(text: str, *, sample: int = 2000) -> str | None:
    """The task a quality score is looked up for: "arabic" when most letters are Arabic script."""
    head = text[:sample]
    arabic = len(_ARABIC.findall(head))
    if not arabic:
        return None
    return "arabic" if arabic * 2 > len(_LETTER.findall(head)) else None
