"""Token counts and quotes: what a request will cost before the call, and what it cost after.

Counting lives in `tokencount` (re-exported here): exact offline for OpenAI model families,
otherwise a heuristic calibrated against o200k with an error band. Only `estimate(exact=True)` asks a
provider's count-tokens API (Anthropic, when a key is configured); a plain quote and routing never
do, so no prompt leaves the machine for a quote. Prices come from `pricing` (genai-prices, uplift,
overrides), cached per deployment. Given a `usagecalibration.UsageCalibration`, a quote's heuristic
count and band follow the input tokens past calls to the model really used (`calibrated_calls` says
how many); routing's own estimates and budget reservations stay on the uncalibrated count and band.

A quote, for `tokens` input tokens counted with relative error band `b`, and `max_tokens`:
- input range: min = ⌊tokens·(1−b)⌋ but at least 1 for non-empty text, max = ⌈tokens·(1+b)⌉ (equal to
  `tokens` for exact counts);
- expected output, unless given: min(max_tokens, 500, max_tokens/4) — a documented guess, not data;
- min_usd = min input + 1 output token (a call returns at least one), or 0 when 0 output is expected
  (so min ≤ expected always);
- expected_usd = tokens + expected output;
- max_usd = max input + max_tokens output;
each priced at the long-context tier its own input size falls in (so min and max may sit on
different tiers). Reasoning models bill their reasoning as output: `max_tokens` caps both, but the
expected figure can be far above the visible answer. A request that would not fit the context window
(or asks more output than the deployment gives) is still quoted, with `fits_context` false and a note.

Actual cost (`cost_of`) follows `types.Usage`: `input_tokens` is the uncached input (cache reads and
writes are reported apart, as the adapters normalise every provider); `output_tokens` includes
reasoning tokens (`reasoning_tokens` is a breakdown, not added again).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from polyroute import pricing
from polyroute.catalog import Deployment
from polyroute.tokencount import TokenCount, count_tokens, count_tokens_via_api, counting_key, request_tokens
from polyroute.types import CompletionRequest, Money, Usage

if TYPE_CHECKING:
    from polyroute.settings import Settings
    from polyroute.usagecalibration import UsageCalibration

DEFAULT_EXPECTED_OUTPUT = 500
PROVISIONED_CAVEAT = (
    "indicative only: {id} is billed per provisioned throughput unit (PTU) per hour, whatever the "
    "tokens; these figures price the tokens at the per-token rate, not what the hour will cost"
)


class Quote(BaseModel):
    """Min / expected / max USD for one request on one deployment, and why."""

    deployment: str
    input_tokens: int
    input_method: str
    tokenizer: str = ""
    error_band: float
    input_tokens_min: int = 0
    input_tokens_max: int = 0
    expected_output_tokens: int
    max_output_tokens: int
    min_usd: Money
    expected_usd: Money
    max_usd: Money
    fits_context: bool
    context_window: int
    batch: bool = False
    price_source: str = ""
    calibrated_calls: int = Field(
        default=0,
        description="the input count and band come from the heuristic moved by the real usage of this "
        "many completed calls to the model (see notes); 0: not calibrated",
    )
    price_caveat: str | None = Field(
        default=None,
        description="set when the per-token figures are not how the deployment is billed (Azure PTU)",
    )
    notes: list[str]


def default_expected_output(max_tokens: int) -> int:
    """The output a quote expects when the caller does not say: a quarter of max_tokens, at most 500."""
    return max(1, min(max_tokens, DEFAULT_EXPECTED_OUTPUT, max_tokens // 4))


def quote(
    deployment: Deployment,
    tokens: TokenCount,
    *,
    max_tokens: int,
    expected_output_tokens: int | None = None,
    batch: bool = False,
) -> Quote:
    """Price `tokens` of input and up to `max_tokens` of output on `deployment` (see module docstring)."""
    if max_tokens < 1 or tokens.tokens < 0 or (expected_output_tokens or 0) < 0:
        raise ValueError("token counts must be ≥ 0 and max_tokens ≥ 1")
    rates = pricing.rates_for(deployment, batch=batch)
    low, high = _input_range(tokens)
    notes = list(rates.notes)
    expected_out = _expected_output(max_tokens, expected_output_tokens, notes)
    fits = _fit_notes(deployment, tokens.tokens, high, max_tokens, notes)
    _count_notes(deployment, tokens, rates, high, notes)
    return Quote.model_construct(
        deployment=deployment.id,
        input_tokens=tokens.tokens,
        input_method=tokens.method,
        tokenizer=tokens.tokenizer,
        error_band=tokens.error_band,
        calibrated_calls=tokens.calibrated_calls,
        input_tokens_min=low,
        input_tokens_max=high,
        expected_output_tokens=expected_out,
        max_output_tokens=max_tokens,
        min_usd=rates.cost(low, min(1, expected_out)),
        expected_usd=rates.cost(tokens.tokens, expected_out),
        max_usd=rates.cost(high, max_tokens),
        fits_context=fits,
        context_window=deployment.context_window,
        batch=batch,
        price_source=rates.source,
        price_caveat=PROVISIONED_CAVEAT.format(id=deployment.id)
        if deployment.billing == "provisioned"
        else None,
        notes=notes,
    )


def most_input(count: int, band: float) -> int:
    """The largest input count a relative error `band` allows; an exact count is its own maximum."""
    return math.ceil(count * (1 + band)) if band else count


def _input_range(tokens: TokenCount) -> tuple[int, int]:
    """The input counts the band allows; an exact count is its own range (no float rounding)."""
    if tokens.error_band == 0:
        return tokens.tokens, tokens.tokens
    low = math.floor(tokens.tokens * (1 - tokens.error_band))
    if tokens.tokens > 0:  # non-empty text costs at least one token: never a quote of 0 tokens / $0
        low = max(1, low)
    return low, most_input(tokens.tokens, tokens.error_band)


def _expected_output(max_tokens: int, given: int | None, notes: list[str]) -> int:
    if given is None:
        return default_expected_output(max_tokens)
    if given > max_tokens:
        notes.append(f"expected output {given} capped at max_tokens {max_tokens}")
        return max_tokens
    return given


def _fit_notes(deployment: Deployment, tokens: int, high: int, max_tokens: int, notes: list[str]) -> bool:
    window, cap = deployment.context_window, deployment.input_limit
    fits = deployment.fits(tokens, max_tokens)
    if tokens > cap:
        notes.append(f"would not fit: {tokens:,} input tokens > this model's input limit {cap:,}")
    elif high > cap:
        notes.append(f"may not fit: up to {high:,} input tokens > this model's input limit {cap:,}")
    if tokens + max_tokens > window:
        notes.append(
            f"would not fit: {tokens:,} input + {max_tokens:,} output tokens > context window {window:,}"
        )
    elif high + max_tokens > window:
        notes.append(f"may not fit: up to {high:,} input + {max_tokens:,} output > context window {window:,}")
    if max_tokens > deployment.max_output_tokens:
        limit = deployment.max_output_tokens
        notes.append(f"max_tokens {max_tokens:,} exceeds this deployment's max output {limit:,}")
    return fits


def _count_notes(
    deployment: Deployment, tokens: TokenCount, rates: pricing.Rates, high: int, notes: list[str]
) -> None:
    if tokens.method == "heuristic":
        notes.append(
            f"input tokens estimated (no offline tokenizer for {deployment.model}): ±{tokens.error_band:.0%}"
        )
        if tokens.calibrated_calls:
            notes.append(
                f"calibrated from {tokens.calibrated_calls} completed calls to {deployment.model}: the "
                f"estimate and its band follow the input tokens those calls really used"
            )
    start = rates.tier_start
    if start is not None and high > start:
        where = "input" if tokens.tokens > start else "max input"
        notes.append(f"{where} above {start:,} tokens: long-context rates apply to every token")
    if "reasoning" in deployment.capabilities:
        notes.append("reasoning tokens bill as output: max_tokens caps them, expected output may be low")


def quote_request(deployment: Deployment, request: CompletionRequest, *, batch: bool = False) -> Quote:
    """Quote one request offline (the request's `max_tokens`, the default expected output)."""
    result = quote(
        deployment, request_tokens(deployment, request), max_tokens=request.max_tokens, batch=batch
    )
    images = sum(1 for m in request.messages if m.has_image())
    if images:
        result.notes.append(f"images in {images} message(s) not counted: their input tokens come on top")
    return result


def compare(
    deployments: Iterable[Deployment],
    text: str,
    *,
    max_tokens: int,
    expected_output_tokens: int | None = None,
    calibration: UsageCalibration | None = None,
) -> list[Quote]:
    """One prompt quoted on many deployments, cheapest expected cost first; each count done once, then
    moved per model by `calibration` (the usage of past calls) when given."""
    counts: dict[str, TokenCount] = {}
    quotes: list[Quote] = []
    for deployment in deployments:
        key = counting_key(deployment)
        if key not in counts:
            counts[key] = count_tokens(text, deployment)
        counted = counts[key] if calibration is None else calibration.adjust(deployment, counts[key])
        quotes.append(
            quote(deployment, counted, max_tokens=max_tokens, expected_output_tokens=expected_output_tokens)
        )
    quotes.sort(key=lambda q: (q.expected_usd, q.deployment))
    return quotes


def cost_of(deployment: Deployment, usage: Usage, *, batch: bool = False) -> Money:
    """What a call cost, from the provider's usage (see module docstring for the token conventions)."""
    rates = pricing.rates_for(deployment, batch=batch)
    return rates.cost(
        usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens
    )


async def estimate(
    deployment: Deployment,
    request: CompletionRequest,
    settings: Settings | None = None,
    *,
    expected_output_tokens: int | None = None,
    send_refusal: str | None = None,
    exact: bool = False,
    calibration: UsageCalibration | None = None,
) -> Quote:
    """A quote for `estimate_cost`: offline unless the caller asks for an `exact` count.

    A quote is a governance answer, so by default no byte of the prompt leaves the machine. With
    `exact`, the prompt goes to the provider's count-tokens API (Anthropic, when a key is configured)
    unless `send_refusal` (from `tokencount.api_count_refusal`) says the policy forbids that. An offline
    heuristic count is moved by `calibration` (the usage of past calls to the model) when given.
    """
    from polyroute.errors import ProviderError

    note, counted = send_refusal if exact else None, None
    try:
        if exact and send_refusal is None:
            counted = await count_tokens_via_api(deployment, request, settings)
    except ProviderError as error:
        note = f"count-tokens API failed ({error}); counted offline"
    if counted is None:
        counted = request_tokens(deployment, request)
        if exact and note is None and counted.method != "exact":
            note = f"no count-tokens API for {deployment.id} (or no key): counted offline"
        if calibration is not None:
            counted = calibration.adjust(deployment, counted)
    result = quote(
        deployment, counted, max_tokens=request.max_tokens, expected_output_tokens=expected_output_tokens
    )
    if note:
        result.notes.insert(0, note)
    return result


__all__ = [
    "DEFAULT_EXPECTED_OUTPUT",
    "Money",
    "Quote",
    "TokenCount",
    "compare",
    "cost_of",
    "count_tokens",
    "count_tokens_via_api",
    "default_expected_output",
    "estimate",
    "quote",
    "quote_request",
    "request_tokens",
]
