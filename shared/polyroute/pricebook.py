"""The router's price lookups: `cost.quote`'s numbers, without its notes, for every deployment per request.

A full `cost.quote` (notes, error band, model) costs ~40 µs; a routing decision prices every
deployment in the catalog, so it would spend 1.5 ms on the bundled catalog alone. The router needs
an expected cost to rank every candidate (a float is enough to order them) and, for the candidates it
keeps, the expected and maximum cost in Decimal — computed from the same `pricing.Rates` with the same
formula as `cost.quote`; `tests/routing` asserts they are equal.
Rates are resolved once per deployment per UTC day (prices in the library are dated).
"""

from __future__ import annotations

import math
import time
from decimal import Decimal
from typing import NamedTuple

from polyroute import pricing
from polyroute.catalog import Deployment
from polyroute.cost import default_expected_output
from polyroute.errors import ConfigError
from polyroute.tokencount import TokenCount


class Estimate(NamedTuple):
    expected_usd: Decimal
    max_usd: Decimal
    fits: bool


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

    def refresh(self) -> None:
        """Drop yesterday's rates (prices are dated); called once per routing decision."""
        day = int(time.time() // 86400)
        if day != self._day:
            self._rates.clear()
            self._problems.clear()
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

    def estimate(self, deployment: Deployment, tokens: TokenCount, max_tokens: int) -> Estimate:
        """Expected and maximum USD as `cost.quote` computes them; `fits` as its `fits_context`.

        No cache tokens before the call, so `Rates.cost` reduces to input × rate + output × rate.
        """
        rates = self.rates(deployment)
        count = tokens.tokens
        high = math.ceil(count * (1 + tokens.error_band)) if tokens.error_band else count
        expected_out = default_expected_output(max_tokens)
        fits = deployment.fits(count, max_tokens)
        rate_in, rate_out = rates.input, rates.output
        expected = rate_in.at(count) * count + rate_out.at(count) * expected_out
        maximum = rate_in.at(high) * high + rate_out.at(high) * max_tokens
        return Estimate(expected, maximum, fits)
