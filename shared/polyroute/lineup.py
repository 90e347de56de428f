"""A screen's priced deployments laid out once, so a decision's work follows its exclusions, not the pool.

What a routing decision reads of each deployment that passed the screen — rates, limits, latency
prior, quality, counting key — is fixed per (screen, price day), so it is unpacked once into columns,
grouped by counting key (one token count per group), with the context limits sorted for bisection.
Per request: the context exclusions come from three bisections per group, the unpriced ones are known
in advance, and live conditions are asked only about the deployments they may say something about
(`Conditions.watched`); prices are one flat pass per group, and ranking picks the best few on the raw
columns (`ranking.rank_columns`). The result equals a straightforward loop over every row's
(tests/routing/test_lineup.py holds them to it on random catalogs, requests and conditions).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import compress
from typing import TYPE_CHECKING, NamedTuple

from polyroute.ranking import Option, Parts, balanced_parts, latency_log, probe_positions, rank_columns
from polyroute.screen import Exclusion, Passed

if TYPE_CHECKING:
    from polyroute.catalog import Deployment
    from polyroute.planning import Choice, Conditions, PlanFacts
    from polyroute.pricebook import PricedRow
    from polyroute.screen import Screen


class _Limit(NamedTuple):
    """One context limit of a group's deployments, ascending, with the row of each value."""

    values: list[int]
    rows: list[int]


def _limit(values: Sequence[int], rows: Sequence[int]) -> _Limit:
    pairs = sorted(zip(values, rows, strict=True))
    return _Limit([v for v, _ in pairs], [r for _, r in pairs])


class _Group(NamedTuple):
    """The rows (a contiguous run) whose deployments count tokens the same way."""

    key: str
    start: int
    stop: int
    rates: list[tuple[float, float]]  # (input, output) USD per token below any long-context tier
    tiered: list[int]  # rows with long-context tiers
    input_limit: _Limit
    window: _Limit
    output: _Limit


class Picked(NamedTuple):
    """`Lineup.pick`'s ranked rows (row, score, expected USD, latency ms, quality), best first."""

    ranked: list[tuple[int, float, float, float, int]]
    exclusions: list[Exclusion]  # every one, in screen order
    compliant: int  # rows that passed every check, ranked or not


class Lineup:
    """A screen's priced rows as columns (rows grouped by counting key, screen order within a group)."""

    def __init__(self, rows: Sequence[PricedRow], unpriced: Callable[[Deployment], str]) -> None:
        keys = list(dict.fromkeys(row.counting_key for row in rows))
        order = sorted(range(len(rows)), key=lambda i: keys.index(rows[i].counting_key))
        self.rows = [rows[i] for i in order]
        self.position = order  # each row's place in the screen: exclusions are listed in that order
        self.ids = [row.id for row in self.rows]
        self.index = {row.id: i for i, row in enumerate(self.rows)}
        self.latency = [row.latency_prior_ms for row in self.rows]
        self.latency_logs = [latency_log(ms) for ms in self.latency]
        self.quality = [row.quality for row in self.rows]
        self.unpriced = {  # why each unpriced row cannot be priced: fixed for the price day
            i: Exclusion(deployment=row.id, stage="price", reason=unpriced(row.passed.deployment))
            for i, row in enumerate(self.rows)
            if not row.priced
        }
        self.limited = [i for i, row in enumerate(self.rows) if row.passed.limited]
        self.groups = [self._group(key) for key in keys]
        self._by_task: dict[str, list[int]] = {}
        self._balanced: dict[str | None, Parts] = {}
        self._probes: dict[tuple[str | None, int], list[int]] = {}
        self._negated: dict[str | None, list[int]] = {}
        self._orders: dict[tuple[str, str | None], list[int]] = {}

    def _group(self, key: str) -> _Group:
        span = [i for i, row in enumerate(self.rows) if row.counting_key == key]
        rows = [self.rows[i] for i in span]
        return _Group(
            key, span[0], span[-1] + 1, [(row.input_rate, row.output_rate) for row in rows],
            [i for i in span if self.rows[i].tiers], _limit([r.input_limit for r in rows], span),
            _limit([r.context_window for r in rows], span), _limit([r.max_output_tokens for r in rows], span),
        )  # fmt: skip

    def quality_for(self, task: str | None) -> list[int]:
        if task is None:
            return self.quality
        found = self._by_task.get(task)
        if found is None:
            found = self._by_task[task] = [row.passed.deployment.quality_for(task) for row in self.rows]
        return found

    def _parts(self, task: str | None) -> Parts:
        """The balanced score's latency and quality parts over every row at the catalog's latencies."""
        found = self._balanced.get(task)
        if found is None:
            quality = self.quality_for(task)
            found = self._balanced[task] = balanced_parts(self.latency_logs, quality, keep=True)
        return found

    def _probe(self, task: str | None, limit: int | None) -> Sequence[int]:
        """`ranking.probe_positions` of the catalog's latencies, when there are more rows than `limit`."""
        if limit is None or limit >= len(self.rows):
            return ()
        found = self._probes.get((task, limit))
        if found is None:
            found = self._probes[task, limit] = probe_positions(self._parts(task), limit)
        return found

    def expected(self, facts: PlanFacts, expected_output: int) -> list[float]:
        """Each row's expected cost in USD as a float (for ordering), as `cost.quote` prices it."""
        values: list[float] = []
        output = float(expected_output)  # float × float is Python's fast path; an int converts exactly
        for group in self.groups:
            count = float(facts.tokens[group.key])
            values += [rate_in * count + rate_out * output for rate_in, rate_out in group.rates]
            for i in group.tiered:  # a long-context tier applies to the whole request
                values[i] = self._expected_at(i, facts, expected_output)
        return values

    def misfits(self, facts: PlanFacts) -> dict[int, Exclusion]:
        """The rows whose context limits the request exceeds, with the reason."""
        from polyroute.planning import context_reason

        found: dict[int, Exclusion] = {}
        for i in self.misfit_rows(facts):
            if i not in found:
                row = self.rows[i]
                reason = context_reason(
                    row.passed.deployment, facts.tokens[row.counting_key], facts.max_tokens
                )
                found[i] = Exclusion(deployment=row.id, stage="context", reason=reason)
        return found

    def misfit_rows(self, facts: PlanFacts) -> list[int]:
        """The rows whose context limits the request exceeds (a row may be named more than once)."""
        found: list[int] = []
        max_tokens = facts.max_tokens
        for group in self.groups:
            count = facts.tokens[group.key]
            for limit, bound in (
                (group.input_limit, count),
                (group.window, count + max_tokens),
                (group.output, max_tokens),
            ):
                if limit.values[0] < bound:
                    found += limit.rows[: bisect_left(limit.values, bound)]
        return found

    def winner(self, facts: PlanFacts, expected_output: int) -> str | None:
        """The deployment `select` would rank first with no conditions, or None when none is left:
        what a replay asks of every past call, without building the exclusions it does not read."""
        excluded = {*self.misfit_rows(facts), *self.unpriced}
        if facts.strategy in ("fastest", "best"):
            return self._first_by_criterion(facts, expected_output, excluded)
        ids, expected, quality = self.ids, self.expected(facts, expected_output), self.quality_for(facts.task)
        latency, logs, parts = self.latency, self.latency_logs, None
        if excluded:
            keep = [i not in excluded for i in range(len(self.rows))]
            ids, expected = list(compress(ids, keep)), list(compress(expected, keep))
            quality, latency, logs = (
                list(compress(quality, keep)),
                list(compress(latency, keep)),
                list(compress(logs, keep)),
            )
        elif facts.strategy == "balanced":
            parts = self._parts(facts.task)
        ranked = rank_columns(ids, expected, latency, logs, quality, facts.strategy, 1, parts)
        return ids[ranked[0][0]] if ranked else None

    def _first_by_criterion(self, facts: PlanFacts, expected_output: int, excluded: set[int]) -> str | None:
        """`fastest` and `best` rank by one criterion the request does not change (latency prior,
        quality for the task): walk the rows in that order, stop at the first compliant one, and price
        only the rows tied with it (cost breaks the tie, then latency, then id)."""
        fastest = facts.strategy == "fastest"
        first = self.latency if fastest else self._negated_quality(facts.task)
        key = (facts.strategy, facts.task)
        order = self._orders.get(key)
        if order is None:
            order = self._orders[key] = sorted(range(len(self.rows)), key=first.__getitem__)
        tied: list[int] = []
        for i in order:
            if i in excluded:
                continue
            if tied and first[i] != first[tied[0]]:
                break
            tied.append(i)
        if len(tied) <= 1:
            return self.ids[tied[0]] if tied else None
        costs = [self._expected_at(i, facts, expected_output) for i in tied]
        if fastest:
            return min(zip(costs, (self.ids[i] for i in tied), strict=True))[1]
        return min(zip(costs, (self.latency[i] for i in tied), (self.ids[i] for i in tied), strict=True))[2]

    def _negated_quality(self, task: str | None) -> list[int]:
        found = self._negated.get(task)
        if found is None:
            found = self._negated[task] = [-q for q in self.quality_for(task)]
        return found

    def _expected_at(self, i: int, facts: PlanFacts, expected_output: int) -> float:
        """One row's value of `expected` (the same float)."""
        row = self.rows[i]
        count = facts.tokens[row.counting_key]
        rate_in, rate_out = row.input_rate, row.output_rate
        if count > row.tier_from:
            _, rate_in, rate_out = next(tier for tier in row.tiers if count > tier[0])
        return rate_in * count + rate_out * expected_output

    def select(
        self, facts: PlanFacts, screen: Screen, conditions: Conditions | None, limit: int | None,
        expected_output: int,
    ) -> Choice:  # fmt: skip
        """What `planning.choose` returns (`kept` holds the ranked options only)."""
        from polyroute.planning import Choice

        picked = self.pick(facts, screen, conditions, limit, expected_output)
        ids, rows = self.ids, self.rows
        options = [(Option(ids[r], cost, ms, q), score) for r, score, cost, ms, q in picked.ranked]
        kept = {ids[ranked[0]]: rows[ranked[0]].passed for ranked in picked.ranked}
        return Choice(options, kept, picked.exclusions, picked.compliant)

    def pick(
        self, facts: PlanFacts, screen: Screen, conditions: Conditions | None, limit: int | None,
        expected_output: int,
    ) -> Picked:  # fmt: skip
        """The ranked rows, best first, and every exclusion: `select` without building its options
        (a plan reads the rows it ranked directly)."""
        excluded = self.misfits(facts)
        for i, exclusion in self.unpriced.items():
            if i not in excluded:
                excluded[i] = exclusion
        latency, logs = self.latency, self.latency_logs
        if conditions is not None:
            latency, logs = self._conditions(facts, conditions, excluded)
        ids, expected, quality = self.ids, self.expected(facts, expected_output), self.quality_for(facts.task)
        rows: Sequence[int] = range(len(self.rows))
        parts = None
        if excluded:
            keep = [i not in excluded for i in rows]
            rows, ids, expected, quality = (
                list(compress(rows, keep)),
                list(compress(ids, keep)),
                list(compress(expected, keep)),
                list(compress(quality, keep)),
            )
            latency, logs = list(compress(latency, keep)), list(compress(logs, keep))
        probe: Sequence[int] = ()
        if not excluded and facts.strategy == "balanced" and logs is self.latency_logs:
            parts, probe = self._parts(facts.task), self._probe(facts.task, limit)
        ranked = rank_columns(ids, expected, latency, logs, quality, facts.strategy, limit, parts, probe)
        exclusions = list(screen.excluded)
        exclusions += [excluded[i] for i in sorted(excluded, key=self.position.__getitem__)]
        picked = [(rows[i], score, expected[i], latency[i], quality[i]) for i, score in ranked]
        return Picked(picked, exclusions, len(ids))

    def _conditions(
        self, facts: PlanFacts, conditions: Conditions, excluded: dict[int, Exclusion]
    ) -> tuple[list[float], list[float]]:
        """Ask the live conditions about the rows they may exclude or re-time; the latency columns."""
        watched = conditions.watched()
        if watched is None:
            asked: Sequence[int] = range(len(self.rows))
        else:
            index = self.index
            asked = sorted({index[d] for d in watched if d in index}.union(self.limited))
        latency, logs = self.latency, self.latency_logs
        counts = {group.key: facts.tokens[group.key] for group in self.groups}
        for i in asked:
            if i in excluded:
                continue
            row = self.rows[i]
            band = facts.bands.get(row.counting_key, 0.0)
            passed: Passed = row.passed
            exclusion = conditions.exclude(passed, counts[row.counting_key], band, facts.max_tokens)
            if exclusion is not None:
                excluded[i] = exclusion
                continue
            ms = conditions.latency_ms(passed.deployment)
            if ms != latency[i]:
                if latency is self.latency:
                    latency, logs = list(latency), list(logs)
                latency[i], logs[i] = ms, latency_log(ms)
        return latency, logs
