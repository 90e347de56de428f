"""The router's price lookups: `cost.quote`'s numbers, without its notes, for every deployment per request.

A full `cost.quote` (notes, error band, model) costs ~40 µs; a routing decision prices every
deployment in the catalog, so it would spend 1.5 ms on the bundled catalog alone. The router needs
only three numbers — expected cost, maximum cost, whether it fits — computed from the same
`pricing.Rates` with the same formula; `tests/routing` asserts they equal `cost.quote`'s.
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
from polyroute.tokencount import TokenCount


class Estimate(NamedTuple):
    expected_usd: Decimal
    max_usd: Decimal
    fits: bool


class PriceBook:
    """Rates per deployment for today, and the expected / maximum cost of one request on each."""

    def __init__(self) -> None:
        self._day = -1
        self._rates: dict[str, tuple[Deployment, pricing.Rates]] = {}

    def rates(self, deployment: Deployment) -> pricing.Rates:
        day = int(time.time() // 86400)
        if day != self._day:
            self._rates.clear()
            self._day = day
        found = self._rates.get(deployment.id)
        if found is None or found[0] is not deployment:  # a replaced catalog entry re-resolves
            found = self._rates[deployment.id] = (deployment, pricing.rates_for(deployment))
        return found[1]

    def estimate(self, deployment: Deployment, tokens: TokenCount, max_tokens: int) -> Estimate:
        """Expected and maximum USD as `cost.quote` computes them; `fits` as its `fits_context`.

        No cache tokens before the call, so `Rates.cost` reduces to input × rate + output × rate.
        """
        rates = self.rates(deployment)
        count = tokens.tokens
        high = math.ceil(count * (1 + tokens.error_band)) if tokens.error_band else count
        expected_out = default_expected_output(max_tokens)
        fits = count + max_tokens <= deployment.context_window and max_tokens <= deployment.max_output_tokens
        rate_in, rate_out = rates.input, rates.output
        expected = rate_in.at(count) * count + rate_out.at(count) * expected_out
        maximum = rate_in.at(high) * high + rate_out.at(high) * max_tokens
        return Estimate(expected, maximum, fits)
