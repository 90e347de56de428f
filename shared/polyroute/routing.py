"""The router: filter the catalog to what may and can take a request, rank it, call with fallbacks.

Candidates = catalog ∩ capabilities ∩ residency (cached: `screen`) ∩ context window ∩ price ∩ health ∩
capacity ∩ budget, ranked by strategy (`ranking`). The plan itself is a pure function of the request's
facts (`planning`); this module resolves a live request into them and supplies the live conditions
(health, capacity, budget). A call tries the candidates in order (`dispatch`): the
provider layer retries one deployment, the router falls back to the next — only ever inside the
compliant set computed here, so a fallback never crosses a residency boundary. Every routed call
leaves exactly one receipt. docs/routing.md explains the strategies, breakers and budgets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from polyroute.budget import Budgets, Headroom
from polyroute.catalog import CAPABILITIES, Deployment
from polyroute.cost import default_expected_output
from polyroute.errors import ConfigError
from polyroute.fingerprint import CatalogDigest
from polyroute.health import Health
from polyroute.planning import MAX_CANDIDATES, Candidate, PlanFacts, RoutePlan, plan_from_facts, pool
from polyroute.pricebook import PriceBook
from polyroute.quota import Quotas
from polyroute.ranking import Strategy, task_of
from polyroute.residency import canonical_jurisdiction
from polyroute.screen import NO_JURISDICTION, Exclusion, Passed, Screener
from polyroute.tokencount import TokenCount, counts_by_key
from polyroute.types import Attempt, CompletionRequest, Money, Usage

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.residency import Verdict

__all__ = [
    "MAX_CANDIDATES", "NO_JURISDICTION", "Candidate", "Exclusion", "RoutePlan", "RouteRequest",
    "RoutedCompletion", "Router", "RoutingInput", "Strategy",
]  # fmt: skip


class RouteRequest(BaseModel):
    request: CompletionRequest
    model: str | None = Field(default=None, description="a catalog deployment id or a model name to pin")
    jurisdiction: str | None = None
    data_class: str | None = None
    strategy: Strategy | None = None
    require: list[str] = Field(default_factory=list[str])
    principal: str
    teams: list[str] = Field(
        default_factory=list[str],
        description="teams the caller's identity carries (an OAuth team claim) beside its [teams] membership",
    )
    tool: str | None = Field(default=None, description="who asked, for the receipt (e.g. 'complete', 'cli')")
    request_id: str | None = None


class RoutedCompletion(BaseModel):
    text: str
    deployment: str
    provider: str
    model: str
    processing_locations: list[str]
    usage: Usage
    estimated_cost_usd: Money
    cost_usd: Money
    latency_ms: float
    attempts: list[Attempt]
    receipt_id: str
    inference_geo: str | None = None
    residency_mismatch: bool = False
    classification_defaulted: bool = False
    jurisdiction: str | None = None
    data_class: str | None = None
    strategy: Strategy | None = None
    exclusions: list[Exclusion] = Field(default_factory=list[Exclusion])


class RoutingInput:
    """One request's routing inputs, resolved once: classification, pool, capabilities, token counts.

    Tokens are counted once per counting key (tokenizer family), not once per deployment, and the
    families share what they can of the work on the text (`tokencount.counts_by_key`).
    """

    def __init__(self, router: Router, req: RouteRequest) -> None:
        defaults = router.app.settings.defaults
        self.route = req
        given = req.jurisdiction or defaults.jurisdiction
        self.jurisdiction = canonical_jurisdiction(given) if given else NO_JURISDICTION  # "eea" → "EU"
        self.data_class = req.data_class or defaults.data_class or "public"
        self.defaulted = req.jurisdiction is None or req.data_class is None
        self.strategy: Strategy = req.strategy or defaults.strategy
        self.required = sorted(_required(req))
        self.task = task_of(req.request.text())
        self.expected_output = default_expected_output(req.request.max_tokens)
        self.pool = router.pool(req.model)
        self.screen = router.screener.screen(
            self.pool, whole_catalog=req.model is None, jurisdiction=self.jurisdiction,
            data_class=self.data_class, required=tuple(self.required),
        )  # fmt: skip
        self.counts: dict[str, TokenCount] = counts_by_key(self.screen.keys, req.request)

    def any_count(self) -> int:
        return next(iter(self.counts.values())).tokens if self.counts else 0

    def facts(self) -> PlanFacts:
        """What the plan depends on: the text itself is no longer needed (so a receipt can be replayed)."""
        return PlanFacts(
            self.jurisdiction, self.data_class, self.defaulted, self.strategy, tuple(self.required),
            self.route.model, self.task, self.route.request.max_tokens,
            {key: count.tokens for key, count in self.counts.items()},
            {key: count.error_band for key, count in self.counts.items()},
        )  # fmt: skip


def _required(req: RouteRequest) -> set[str]:
    unknown = [cap for cap in req.require if cap not in CAPABILITIES]
    if unknown:
        raise ConfigError(f"unknown capability {unknown[0]!r}; known: {', '.join(CAPABILITIES)}")
    required = set(req.require)
    if req.request.has_image():
        required.add("vision")
    if req.request.response_format == "json":
        required.add("json")
    if req.request.temperature is not None and req.request.temperature != 1:
        required.add("temperature")  # 1 is every model's default: a model without sampling still serves it
    return required


class Router:
    """Plans and runs routed calls for one App; breakers and verdict cache are shared by its calls."""

    def __init__(self, app: App, *, health: Health | None = None, budgets: Budgets | None = None) -> None:
        self.app = app
        self.health = health or Health()
        self.budgets = budgets or Budgets(app.settings)
        self.quotas = Quotas(app.settings, lambda: self.budgets.ledger, clock=self.budgets.clock)
        self.prices = PriceBook()
        self.screener = Screener(app)
        self.catalog_digest = CatalogDigest()
        self.in_flight = 0  # routed calls being dispatched now (a lone one journals its intent)

    def verdict(self, jurisdiction: str, data_class: str, deployment: Deployment) -> Verdict:
        """The policy's verdict, cached per (jurisdiction, data class, policy version, deployment)."""
        return self.screener.verdict(jurisdiction, data_class, deployment)

    def judge(self, jurisdiction: str, data_class: str, deployment: Deployment) -> Verdict:
        """The policy's verdict, uncached (e.g. for where a provider says a call actually ran)."""
        return self.screener.judge(jurisdiction, data_class, deployment)

    def pool(self, model: str | None) -> list[Deployment]:
        """The deployments a request may consider: all, the pinned one, or those of a pinned model name."""
        return pool(self.app.catalog, model)

    def plan(self, request: RouteRequest) -> RoutePlan:
        """The ranked candidates and every exclusion with its reason; never calls a provider."""
        return self.decide(RoutingInput(self, request))

    def decide(self, resolved: RoutingInput) -> RoutePlan:
        """Filter, price and rank the resolved request's pool (the part measured as the routing decision)."""
        self.prices.refresh()
        route = resolved.route
        conditions = _LiveConditions(self, self.budgets.headroom(route.principal, route.teams))
        return plan_from_facts(
            resolved.facts(), resolved.screen, self.prices, policy_version=self.app.policy.version,
            conditions=conditions, catalog_digest=self.catalog_digest(self.app.catalog),
        )  # fmt: skip

    async def complete(self, request: RouteRequest) -> RoutedCompletion:
        """Route and call; raises PolicyDenied, BudgetExceeded, QuotaExceeded or NoRoute (each after writing
        a receipt)."""
        from polyroute.dispatch import dispatch

        return await dispatch(self, request)


class _LiveConditions:
    """What a live decision checks beyond the request's facts: breakers, per-minute capacity, budgets."""

    def __init__(self, router: Router, headroom: Headroom | None) -> None:
        self.health = router.health
        self.prices = router.prices
        self.headroom = headroom
        self.room = _room(headroom)

    def latency_ms(self, deployment: Deployment) -> float:
        return self.health.latency_ms(deployment)

    def watched(self) -> list[str] | None:
        """A budget check prices every deployment; otherwise only those with a breaker or a latency
        observed can be excluded (or re-timed), besides those with per-minute limits."""
        return None if self.headroom is not None else self.health.tracked()

    def exclude(self, passed: Passed, tokens: int, band: float, max_tokens: int) -> Exclusion | None:
        deployment = passed.deployment
        blocked = self.health.blocked(deployment.id)
        if blocked is None and passed.limited:
            blocked = self.health.capacity_blocked(deployment, tokens + max_tokens)
        if blocked:
            stage = "health" if "circuit" in blocked else "capacity"
            return Exclusion(deployment=deployment.id, stage=stage, reason=blocked)
        if self.headroom is not None:
            most = self.prices.max_float(deployment, tokens, band, max_tokens)
            if most is not None and most < self.room:  # far inside the budget: no need for exact money
                return None
            reason = self.headroom.refusal(self.prices.estimate(deployment, tokens, band, max_tokens).max_usd)
            if reason is not None:
                return Exclusion(deployment=deployment.id, stage="budget", reason=reason)
        return None


def _room(headroom: Headroom | None) -> float:
    """A float that any call's maximum cost below it surely fits the budget, exactly as
    `Headroom.refusal` decides in Decimal (-inf when the budget is used up, or there is none).

    A budget check asks every deployment, and the exact maximum (Decimal) costs more than the rest of
    the decision per deployment; the float maximum errs by ~1e-15 of itself. The margin — a billionth
    of the room, plus 1e-15 of the limit for Decimal's rounding of the totals — leaves the close calls,
    and only them, to the exact check."""
    if headroom is None:
        return -math.inf
    key, status = headroom.key, headroom.status
    used = status.spent_usd + status.reserved_usd
    if used >= key.limit_usd:
        return -math.inf
    return float(key.limit_usd - used) * (1 - 1e-9) - float(key.limit_usd) * 1e-15
