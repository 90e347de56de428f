"""The route plan as a pure function of a request's facts: (facts, screen, prices, conditions) → plan.

A plan depends on the request only through a few facts — classification, strategy, pin, required
capabilities, task, max_tokens and the input tokens per tokenizer family — never on the text itself.
`Router.plan` resolves a live request into those facts and passes the live `Conditions` (health,
capacity, budget headroom); `simulation` replays the facts a receipt recorded, with no conditions (a
past call's health is gone), against a proposed policy, catalog or prices. Both rank through `choose`,
so a replay decides exactly as the router would.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pydantic import BaseModel, Field

from polyroute.catalog import Catalog, Deployment
from polyroute.cost import default_expected_output, most_input
from polyroute.pricebook import bounds
from polyroute.ranking import Option, Strategy
from polyroute.screen import Exclusion, Passed, Screen
from polyroute.types import Money

if TYPE_CHECKING:
    from polyroute.pricebook import PriceBook, PricedRow

MAX_CANDIDATES = 32
"""How many ranked candidates a plan lists and a call may fall back through; the rest are counted."""


class Candidate(BaseModel):
    deployment: str
    provider: str
    model: str
    processing_locations: list[str]
    expected_cost_usd: Money
    max_cost_usd: Money
    score: float
    latency_ms: float = 0.0
    quality: int = 5
    input_tokens: int = 0


class RoutePlan(BaseModel):
    jurisdiction: str
    data_class: str
    classification_defaulted: bool
    strategy: Strategy
    input_tokens: int
    policy_version: str
    candidates: list[Candidate]
    exclusions: list[Exclusion]
    more_candidates: int = Field(
        default=0, description=f"compliant deployments ranked below the first {MAX_CANDIDATES}: not tried"
    )
    pinned: str | None = None
    task: str | None = None
    required: list[str] = Field(default_factory=list[str])
    max_tokens: int | None = Field(default=None, description="the request's output limit")
    token_counts: dict[str, int] = Field(
        default_factory=dict[str, int], description="input tokens per tokenizer family (counting key)"
    )
    catalog_digest: str | None = Field(default=None, description="the catalog the plan was made from")


class PlanFacts(NamedTuple):
    """Everything about one request that its plan depends on: a past call's receipt records these."""

    jurisdiction: str
    data_class: str
    defaulted: bool
    strategy: Strategy
    required: tuple[str, ...]
    pinned: str | None
    task: str | None
    max_tokens: int
    tokens: Mapping[str, int]  # input tokens per counting key (tokenizer family) of the screened deployments
    bands: Mapping[str, float] = MappingProxyType({})  # relative error of each count (0: exact)


class Conditions(Protocol):
    """What a live decision checks beyond the facts: health, capacity and budget (absent in a replay)."""

    def latency_ms(self, deployment: Deployment) -> float: ...

    def exclude(self, passed: Passed, tokens: int, band: float, max_tokens: int) -> Exclusion | None: ...

    def watched(self) -> Collection[str] | None:
        """The deployments `exclude` might exclude, or `latency_ms` give other than the catalog's prior,
        besides those with per-minute limits (always asked); None: every deployment must be asked."""
        ...


class Choice(NamedTuple):
    """The ranked options (best first, at most the limit asked), and why every other one was dropped."""

    ranked: list[tuple[Option, float]]
    kept: dict[str, Passed]  # the ranked options' screen entries
    exclusions: list[Exclusion]
    compliant: int  # options that passed every check, ranked or not


def pool(catalog: Catalog, model: str | None) -> list[Deployment]:
    """The deployments a request may consider: all, the pinned one, or those of a pinned model name
    (UnknownDeployment, with close matches, when the catalog has neither)."""
    if model is None:
        return list(catalog)
    pinned = catalog.find(model)
    if pinned is not None:
        return [pinned]
    of_model = catalog.of_model(model)
    if not of_model:
        catalog.get(model)  # raises UnknownDeployment with close matches
    return of_model


def choose(
    facts: PlanFacts, screen: Screen, prices: PriceBook, conditions: Conditions | None, limit: int | None
) -> Choice:
    """Filter what passed the screen by context fit, price and `conditions`, then rank by strategy
    (over the screen's `Lineup`, laid out once per screen and price day)."""
    expected_output = default_expected_output(facts.max_tokens)
    return prices.lineup(screen).select(facts, screen, conditions, limit, expected_output)


def plan_from_facts(
    facts: PlanFacts,
    screen: Screen,
    prices: PriceBook,
    *,
    policy_version: str,
    conditions: Conditions | None,
    catalog_digest: str | None = None,
) -> RoutePlan:
    """The ranked candidates and every exclusion with its reason; never calls a provider.

    Ranked by `Lineup.pick`, the core of `choose`. Candidates go in as plain fields and are validated
    with the plan in one pass (a third cheaper than one `Candidate(...)` each, which counts at 32
    candidates)."""
    lineup, expected_out = prices.lineup(screen), default_expected_output(facts.max_tokens)
    picked = lineup.pick(facts, screen, conditions, MAX_CANDIDATES, expected_out)
    money = _Money(facts, expected_out)
    candidates: list[dict[str, Any]] = []
    for i, score, _, latency, quality in picked.ranked:
        row = lineup.rows[i]
        tokens, expected, maximum = money(row)
        candidates.append({
            **row.shown, "expected_cost_usd": expected, "max_cost_usd": maximum, "score": score,
            "latency_ms": latency, "quality": quality, "input_tokens": tokens,
        })  # fmt: skip
    counts = dict(facts.tokens)
    return RoutePlan.model_validate({
        "jurisdiction": facts.jurisdiction,
        "data_class": facts.data_class,
        "classification_defaulted": facts.defaulted,
        "strategy": facts.strategy,
        "input_tokens": candidates[0]["input_tokens"] if candidates else next(iter(counts.values()), 0),
        "policy_version": policy_version,
        "candidates": candidates,
        "exclusions": picked.exclusions,
        "more_candidates": picked.compliant - len(picked.ranked),
        "pinned": facts.pinned,
        "task": facts.task,
        "required": list(facts.required),
        "max_tokens": facts.max_tokens,
        "token_counts": counts,
        "catalog_digest": catalog_digest,
    })  # fmt: skip


class _Money:
    """A candidate's input tokens and its expected and maximum USD, as `PriceBook.estimate` computes
    them; each counting key's counts are turned into Decimals once per plan, not once per candidate
    (Decimal × Decimal is the product Decimal × int computes, a third faster)."""

    def __init__(self, facts: PlanFacts, expected_out: int) -> None:
        self.facts, self.expected_out = facts, expected_out
        self.output, self.most = Decimal(expected_out), Decimal(facts.max_tokens)
        self.keys: dict[str, tuple[int, int, float, Decimal, Decimal]] = {}

    def __call__(self, row: PricedRow) -> tuple[int, Decimal, Decimal]:
        found = self.keys.get(row.counting_key)
        if found is None:
            count, band = self.facts.tokens[row.counting_key], self.facts.bands.get(row.counting_key, 0.0)
            high = most_input(count, band)
            found = self.keys[row.counting_key] = (count, high, band, Decimal(count), Decimal(high))
        count, high, band, exact, most_in = found
        rates = row.rates
        assert rates is not None  # ranked rows are priced
        tier_start = rates.tier_start
        if tier_start is None or max(count, high) <= tier_start:  # the base rates, as in `bounds`
            rate_in, rate_out = rates.input.base, rates.output.base
            return count, rate_in * exact + rate_out * self.output, rate_in * most_in + rate_out * self.most
        return count, *bounds(rates, count, band, self.expected_out, self.facts.max_tokens)


def context_reason(deployment: Deployment, tokens: int, max_tokens: int) -> str:
    if max_tokens > deployment.max_output_tokens:
        return f"max_tokens {max_tokens} exceeds its output limit of {deployment.max_output_tokens}"
    if tokens > deployment.input_limit:
        return f"{tokens} input tokens exceed its input limit of {deployment.input_limit}"
    window = deployment.context_window
    return f"{tokens} input + {max_tokens} output tokens exceed its context window of {window}"
