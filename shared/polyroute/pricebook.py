"""The router's price lookups: `cost.quote`'s numbers, without its notes, for every deployment per request.

A full `cost.quote` (notes, error band, model) costs ~40 µs; a routing decision prices every
deployment in the catalog, so it would spend 1.5 ms on the bundled catalog alone. The router needs
an expected cost to rank every candidate (a float is enough to order them) and, for the candidates it
keeps, the expected and maximum cost in Decimal — computed from the same `pricing.Rates` with the same
formula as `cost.quote`; `tests/routing` asserts they are equal.
Rates are resolved once per deployment per UTC day (prices in the library are dated).
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from typing import NamedTuple

from polyroute import pricing
from polyroute.catalog import Deployment
from polyroute.cost import default_expected_output, most_input
from polyroute.errors import ConfigError
from polyroute.lineup import Lineup
from polyroute.screen import Passed, Screen

_MAX_ROWS = 512


class Estimate(NamedTuple):
    expected_usd: Decimal
    max_usd: Decimal
    fits: bool


class PricedRow(NamedTuple):
    """A deployment that passed a screen, with what ranking reads of it unpacked, and its per-token
    rates as floats (for ordering only) by input size: `rates` holds (above, input, output) from the
    highest tier down to the base rate (above = -1); empty when unpriced."""

    passed: Passed
    id: str
    counting_key: str
    context_window: int
    max_output_tokens: int
    input_limit: int
    latency_prior_ms: float
    quality: int
    priced: bool
    input_rate: float
    output_rate: float
    tier_from: int
    tiers: tuple[tuple[int, float, float], ...]
    rates: pricing.Rates | None  # exact, for the money a plan shows
    shown: dict[str, object]  # a plan candidate's fields that are facts of the deployment


class _Priced(NamedTuple):
    deployment: Deployment
    rates: pricing.Rates
    input_rate: float | None  # USD per token as float when the model has no long-context tiers
    output_rate: float


class PriceBook:
    """Rates per deployment for today, and the expected / maximum cost of one request on each."""

    def __init__(self) -> None:
        self._day = -1
        self._rates: dict[str, _Priced] = {}
        self._problems: dict[str, tuple[Deployment, str]] = {}
        self._rows: dict[int, tuple[Screen, Lineup]] = {}

    def refresh(self) -> None:
        """Drop yesterday's rates (prices are dated); called once per routing decision."""
        day = int(time.time() // 86400)
        if day != self._day:
            self._rates.clear()
            self._problems.clear()
            self._rows.clear()
            self._day = day

    def _priced(self, deployment: Deployment) -> _Priced | None:
        found = self._rates.get(deployment.id)
        if found is not None and found.deployment is deployment:
            return found
        problem = self._problems.get(deployment.id)
        if problem is not None and problem[0] is deployment:
            return None
        try:  # a new or replaced catalog entry resolves its rates once per day
            rates = pricing.rates_for(deployment)
        except ConfigError as error:
            self._problems[deployment.id] = (deployment, str(error))
            return None
        flat = not rates.input.tiers and not rates.output.tiers
        found = self._rates[deployment.id] = _Priced(
            deployment, rates, float(rates.input.base) if flat else None, float(rates.output.base)
        )
        return found

    def lineup(self, screen: Screen) -> Lineup:
        """The screen's deployments, unpacked and priced once per screen per day: a cached screen (one
        per classification) is priced once, not once per request."""
        found = self._rows.get(id(screen))
        if found is not None and found[0] is screen:
            return found[1]
        lineup = Lineup(self.rows(screen), self.unpriced)
        if len(self._rows) >= _MAX_ROWS:
            self._rows.clear()
        self._rows[id(screen)] = (screen, lineup)
        return lineup

    def rows(self, screen: Screen) -> tuple[PricedRow, ...]:
        """The screen's deployments (in its order) with what ranking reads of each, uncached."""
        return tuple(self._row(passed) for passed in screen.passed)

    def _row(self, passed: Passed) -> PricedRow:
        d = passed.deployment
        priced = self._priced(d)
        if priced is None:
            return PricedRow(passed, d.id, passed.counting_key, d.context_window, d.max_output_tokens,
                             d.input_limit, d.latency_prior_ms, d.quality, False, 0.0, 0.0, sys.maxsize,
                             (), None, _shown(passed))  # fmt: skip
        rate_in, rate_out = priced.rates.input, priced.rates.output
        starts = sorted({start for rate in (rate_in, rate_out) for start, _ in rate.tiers}, reverse=True)
        tiers = tuple(
            (start, float(rate_in.at(start + 1)), float(rate_out.at(start + 1))) for start in starts
        )
        return PricedRow(
            passed, d.id, passed.counting_key, d.context_window, d.max_output_tokens, d.input_limit,
            d.latency_prior_ms, d.quality, True, float(rate_in.base), float(rate_out.base),
            starts[-1] if starts else sys.maxsize, tiers, priced.rates, _shown(passed),
        )  # fmt: skip

    def unpriced(self, deployment: Deployment) -> str:
        """Why this deployment cannot be priced (no price, a price_ref the library lacks).

        The router excludes such a deployment rather than failing the whole request: without a price
        it can be neither ranked by cost nor checked against a budget.
        """
        problem = self._problems.get(deployment.id)
        return problem[1] if problem is not None else "no usable price"

    def rates(self, deployment: Deployment) -> pricing.Rates:
        priced = self._priced(deployment)
        if priced is None:
            raise ConfigError(self.unpriced(deployment))
        return priced.rates

    def expected(self, deployment: Deployment, input_tokens: int, output_tokens: int) -> float | None:
        """Expected USD as a float for ranking (money shown or charged stays Decimal); None if unpriced."""
        priced = self._priced(deployment)
        if priced is None:
            return None
        if priced.input_rate is not None:
            return priced.input_rate * input_tokens + priced.output_rate * output_tokens
        rates = priced.rates
        return float(
            rates.input.at(input_tokens) * input_tokens + rates.output.at(input_tokens) * output_tokens
        )

    def max_float(self, deployment: Deployment, count: int, band: float, max_tokens: int) -> float | None:
        """`estimate`'s maximum as a float (within ~1e-15 of it), when the deployment has no long-context
        tiers; None otherwise (or unpriced)."""
        priced = self._priced(deployment)
        if priced is None or priced.input_rate is None:
            return None
        high = most_input(count, band)
        return priced.input_rate * high + priced.output_rate * max_tokens

    def estimate(self, deployment: Deployment, count: int, band: float, max_tokens: int) -> Estimate:
        """Expected and maximum USD as `cost.quote` computes them for `count` input tokens counted with a
        relative error `band`; `fits` as its `fits_context`.

        No cache tokens before the call, so `Rates.cost` reduces to input × rate + output × rate.
        """
        expected, maximum = bounds(
            self.rates(deployment), count, band, default_expected_output(max_tokens), max_tokens
        )
        return Estimate(expected, maximum, deployment.fits(count, max_tokens))


def _shown(passed: Passed) -> dict[str, object]:
    """The fields of a plan's `Candidate` that only the deployment and its verdict decide (validation
    copies the list, so every plan gets its own)."""
    d = passed.deployment
    locations = list(passed.verdict.processing_locations)
    return {"deployment": d.id, "provider": d.provider, "model": d.model, "processing_locations": locations}


def bounds(
    rates: pricing.Rates, count: int, band: float, expected_out: int, max_tokens: int
) -> tuple[Decimal, Decimal]:
    """(expected, maximum) USD of `PriceBook.estimate`, from the rates (a plan prices each candidate)."""
    high = most_input(count, band)
    rate_in, rate_out = rates.input, rates.output
    tier_start = rates.tier_start
    if tier_start is None or max(count, high) <= tier_start:  # `at` would give the base rates
        base_in, base_out = rate_in.base, rate_out.base
        return base_in * count + base_out * expected_out, base_in * high + base_out * max_tokens
    expected = rate_in.at(count) * count + rate_out.at(count) * expected_out
    return expected, rate_in.at(high) * high + rate_out.at(high) * max_tokens
