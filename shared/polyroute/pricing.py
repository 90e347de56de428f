"""Per-token rates of a deployment: genai-prices' bundled data, the regional uplift, or an explicit price.

genai-prices is slow to import (~0.5 s for its data) and its `calc_price` walks the price tables on
every call; the router quotes every candidate on every request. So the rates are resolved once per
(price reference, explicit price, batch, UTC day) into plain Decimals, and a quote is Decimal
arithmetic after that. The day is in the key because genai-prices dates its prices (e.g. a
long-context tier that ended on a given date).

Conventions:
- `input_tokens` is the input billed at the plain input rate: cache reads and writes are NOT in it
  (Anthropic's convention, and what every adapter reports in `Usage`); they are billed at their own
  rates. (genai-prices counts cached tokens inside `input_tokens`; the tier test below adds them.)
- A long-context tier applies to *all* tokens of a request whose total input exceeds the tier's start
  (the "cliff" model every provider uses), output and cache tokens included.
- `PriceRef.uplift` multiplies the library's rates (e.g. 1.1 for a regional endpoint whose library
  entry holds the global price). An explicit `Deployment.price` is final: no uplift is applied.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polyroute.errors import ConfigError

if TYPE_CHECKING:
    from polyroute.catalog import Deployment, Price, PriceRef

MTOK = Decimal(1_000_000)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Rate:
    """USD per token, with long-context tiers as (start, USD per token) ascending."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()

    def at(self, total_input_tokens: int) -> Decimal:
        """The rate for a request with this many input tokens (a tier applies when input > its start)."""
        for start, price in reversed(self.tiers):
            if total_input_tokens > start:
                return price
        return self.base


@dataclass(frozen=True, slots=True)
class Rates:
    """Everything needed to price a request on one deployment, in USD per token."""

    input: Rate
    output: Rate
    cache_read: Rate
    cache_write: Rate
    source: str
    notes: tuple[str, ...] = ()

    tier_start: int | None = field(init=False, default=None)
    """Input size above which the first long-context tier applies, if the model has one."""

    def __post_init__(self) -> None:
        starts = [t[0] for rate in (self.input, self.output) for t in rate.tiers]
        object.__setattr__(self, "tier_start", min(starts) if starts else None)

    def cost(
        self, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0
    ) -> Decimal:
        """USD for one request; `input_tokens` excludes the cached ones (see module docstring)."""
        total_input = input_tokens + cache_read + cache_write  # what a long-context tier looks at
        return (
            self.input.at(total_input) * input_tokens
            + self.cache_read.at(total_input) * cache_read
            + self.cache_write.at(total_input) * cache_write
            + self.output.at(total_input) * output_tokens
        )


_cache: dict[tuple[PriceRef | None, Price | None, bool, int], Rates] = {}


def rates_for(deployment: Deployment, *, batch: bool = False) -> Rates:
    """The deployment's rates today; ConfigError when it has no usable price."""
    day = int(time.time() // 86_400)  # the UTC day: cheaper than building a date on every quote
    key = (deployment.price_ref, deployment.price, batch, day)
    rates = _cache.get(key)
    if rates is None:
        if len(_cache) > 4096:
            _cache.clear()
        today = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + day)
        rates = _cache[key] = _resolve(deployment, batch=batch, today=today)
    return rates


def problem(deployment: Deployment) -> str | None:
    """Why the deployment cannot be priced (no price, a price_ref the library lacks), or None."""
    try:
        rates_for(deployment)
    except ConfigError as error:
        return str(error)
    return None


def _resolve(deployment: Deployment, *, batch: bool, today: dt.date) -> Rates:
    if deployment.price is not None:
        return _from_price(deployment.price, batch=batch)
    if deployment.price_ref is not None:
        return _from_library(deployment.id, deployment.price_ref, batch=batch, today=today)
    raise ConfigError(
        f"deployment {deployment.id!r} has no price: give it `price_ref` (genai-prices model and provider) "
        "or an explicit `price` (use input_per_mtok = 0, output_per_mtok = 0 for a free endpoint)"
    )


def _from_price(price: Price, *, batch: bool) -> Rates:
    """An explicit price: cache rates default to the input rate (no discount is assumed)."""
    factor = (1 - price.batch_discount) if batch else Decimal(1)

    def rate(per_mtok: Decimal | None) -> Rate:
        return Rate(((per_mtok if per_mtok is not None else price.input_per_mtok) * factor) / MTOK)

    notes: list[str] = []
    if price.cache_read_per_mtok is None:
        notes.append("no cache-read price given: cache reads priced as input")
    if batch and price.batch_discount == 0:
        notes.append("no batch discount given: batch priced at the standard rate")
    return Rates(
        input=rate(price.input_per_mtok),
        output=rate(price.output_per_mtok),
        cache_read=rate(price.cache_read_per_mtok),
        cache_write=rate(price.cache_write_per_mtok),
        source="deployment price (catalog or config)",
        notes=tuple(notes),
    )


def _from_library(deployment_id: str, ref: PriceRef, *, batch: bool, today: dt.date) -> Rates:
    """Look the model up in genai-prices and turn its ModelPrice into per-token Rates × uplift."""
    from importlib.metadata import version

    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        provider, model = snapshot.find_provider_model(ref.model_ref, None, ref.provider_id, None)
    except LookupError:
        raise ConfigError(
            f"deployment {deployment_id!r}: genai-prices {version('genai-prices')} has no price for model "
            f"{ref.model_ref!r} at provider {ref.provider_id!r}; fix price_ref or give an explicit price"
        ) from None
    if ref.uplift != 1 and model.id.startswith("regional."):
        raise ConfigError(
            f"deployment {deployment_id!r}: genai-prices' {model.id!r} is already the regional price; "
            f"an uplift of {ref.uplift} on top would count the regional premium twice "
            "(use the global model_ref, or uplift 1)"
        )
    moment = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    prices: Any = model.get_prices(moment, {"processing": "batch"} if batch else None)
    notes: list[str] = []
    if batch and not _has_batch_price(model, moment):
        notes.append("genai-prices lists no batch price for this model: standard rate used")
    source = f"genai-prices {version('genai-prices')}: {provider.id}/{model.id}" + (
        f" × {ref.uplift} uplift" if ref.uplift != 1 else ""
    )
    input_rate = _rate(prices.input_mtok, ref.uplift)
    if input_rate is None or prices.output_mtok is None:
        raise ConfigError(f"deployment {deployment_id!r}: genai-prices has no token prices for {model.id!r}")
    return Rates(
        input=input_rate,
        output=_rate(prices.output_mtok, ref.uplift) or input_rate,
        cache_read=_rate(prices.cache_read_mtok, ref.uplift) or input_rate,
        cache_write=_rate(prices.cache_write_mtok, ref.uplift) or input_rate,
        source=source,
        notes=tuple(notes),
    )


def _has_batch_price(model: Any, moment: dt.datetime) -> bool:
    return any(
        variant.when.get("processing") == "batch"
        and (variant.constraint is None or variant.constraint.active(moment))
        for variant in model.price_variants or ()
    )


def _rate(value: Any, uplift: Decimal) -> Rate | None:
    """genai-prices' Decimal or TieredPrices (USD per million) → Rate (USD per token)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return Rate(value * uplift / MTOK)
    tiers = tuple((int(t.start), Decimal(t.price) * uplift / MTOK) for t in value.tiers)
    return Rate(Decimal(value.base) * uplift / MTOK, tuple(sorted(tiers)))


__all__ = ["MTOK", "Rate", "Rates", "problem", "rates_for"]
