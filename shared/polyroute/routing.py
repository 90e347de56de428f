"""The router: filter the catalog to what may and can take a request, rank it, call with fallbacks.

Candidates = catalog ∩ capabilities ∩ residency (cached: `screen`) ∩ context window ∩ price ∩ health ∩
capacity ∩ budget, ranked by strategy (`ranking`). A call tries the candidates in order (`dispatch`): the
provider layer retries one deployment, the router falls back to the next — only ever inside the
compliant set computed here, so a fallback never crosses a residency boundary. Every routed call
leaves exactly one receipt. docs/routing.md explains the strategies, breakers and budgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from polyroute.budget import Budgets, Headroom
from polyroute.catalog import CAPABILITIES, Deployment
from polyroute.cost import default_expected_output
from polyroute.errors import ConfigError
from polyroute.health import Health
from polyroute.pricebook import PriceBook
from polyroute.ranking import Option, Strategy, rank, task_of
from polyroute.residency import canonical_jurisdiction
from polyroute.screen import NO_JURISDICTION, Exclusion, Passed, Screener
from polyroute.tokencount import TokenCount, request_tokens
from polyroute.types import Attempt, CompletionRequest, Money, Usage

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.residency import Verdict

MAX_CANDIDATES = 32
"""How many ranked candidates a plan lists and a call may fall back through; the rest are counted."""

__all__ = [
    "NO_JURISDICTION", "Candidate", "Exclusion", "RoutePlan", "RouteRequest", "RoutedCompletion", "Router",
    "RoutingInput", "Strategy",
]  # fmt: skip


class RouteRequest(BaseModel):
    request: CompletionRequest
    model: str | None = Field(default=None, description="a catalog deployment id or a model name to pin")
    jurisdiction: str | None = None
    data_class: str | None = None
    strategy: Strategy | None = None
    require: list[str] = Field(default_factory=list[str])
    principal: str
    tool: str | None = Field(default=None, description="who asked, for the receipt (e.g. 'complete', 'cli')")
    request_id: str | None = None


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

    Tokens are counted once per counting key (tokenizer family), not once per deployment.
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
        self.counts: dict[str, TokenCount] = {}
        for passed in self.screen.passed:
            if passed.counting_key not in self.counts:
                self.counts[passed.counting_key] = request_tokens(passed.deployment, req.request)

    def any_count(self) -> int:
        return next(iter(self.counts.values())).tokens if self.counts else 0


def _required(req: RouteRequest) -> set[str]:
    unknown = [cap for cap in req.require if cap not in CAPABILITIES]
    if unknown:
        raise ConfigError(f"unknown capability {unknown[0]!r}; known: {', '.join(CAPABILITIES)}")
    required = set(req.require)
    if req.request.has_image():
        required.add("vision")
    if req.request.response_format == "json":
        required.add("json")
    return required


class Router:
    """Plans and runs routed calls for one App; breakers and verdict cache are shared by its calls."""

    def __init__(self, app: App, *, health: Health | None = None, budgets: Budgets | None = None) -> None:
        self.app = app
        self.health = health or Health()
        self.budgets = budgets or Budgets(app.settings)
        self.prices = PriceBook()
        self.screener = Screener(app)

    def verdict(self, jurisdiction: str, data_class: str, deployment: Deployment) -> Verdict:
        """The policy's verdict, cached per (jurisdiction, data class, policy version, deployment)."""
        return self.screener.verdict(jurisdiction, data_class, deployment)

    def judge(self, jurisdiction: str, data_class: str, deployment: Deployment) -> Verdict:
        """The policy's verdict, uncached (e.g. for where a provider says a call actually ran)."""
        return self.screener.judge(jurisdiction, data_class, deployment)

    def pool(self, model: str | None) -> list[Deployment]:
        """The deployments a request may consider: all, the pinned one, or those of a pinned model name."""
        catalog = self.app.catalog
        if model is None:
            return list(catalog)
        pinned = catalog.find(model)
        if pinned is not None:
            return [pinned]
        of_model = catalog.of_model(model)
        if not of_model:
            catalog.get(model)  # raises UnknownDeployment with close matches
        return of_model

    def plan(self, request: RouteRequest) -> RoutePlan:
        """The ranked candidates and every exclusion with its reason; never calls a provider."""
        return self.decide(RoutingInput(self, request))

    def decide(self, resolved: RoutingInput) -> RoutePlan:
        """Filter, price and rank the resolved request's pool (the part measured as the routing decision)."""
        headroom = self.budgets.headroom(resolved.route.principal)
        self.prices.refresh()
        kept: dict[str, Passed] = {}
        options: list[Option] = []
        exclusions: list[Exclusion] = list(resolved.screen.excluded)
        for passed in resolved.screen.passed:
            outcome = self._consider(resolved, passed, resolved.counts[passed.counting_key], headroom)
            if isinstance(outcome, Exclusion):
                exclusions.append(outcome)
            else:
                kept[passed.deployment.id] = passed
                options.append(outcome)
        ranked = rank(options, resolved.strategy, MAX_CANDIDATES)
        candidates = [self._candidate(resolved, kept[o.deployment], o, s) for o, s in ranked]
        return RoutePlan(
            jurisdiction=resolved.jurisdiction,
            data_class=resolved.data_class,
            classification_defaulted=resolved.defaulted,
            strategy=resolved.strategy,
            input_tokens=candidates[0].input_tokens if candidates else resolved.any_count(),
            policy_version=self.app.policy.version,
            candidates=candidates,
            exclusions=exclusions,
            more_candidates=len(options) - len(ranked),
            pinned=resolved.route.model,
            task=resolved.task,
            required=resolved.required,
        )

    def _consider(
        self, resolved: RoutingInput, passed: Passed, tokens: TokenCount, headroom: Headroom | None
    ) -> Option | Exclusion:
        """The per-call checks (context, price, health, capacity, budget); if it passes, its ranking facts."""
        deployment = passed.deployment
        max_tokens = resolved.route.request.max_tokens
        total = tokens.tokens + max_tokens
        if not deployment.fits(tokens.tokens, max_tokens):  # input cap, window, output cap
            reason = _context_reason(deployment, tokens.tokens, max_tokens)
            return Exclusion(deployment=deployment.id, stage="context", reason=reason)
        expected = self.prices.expected(deployment, tokens.tokens, resolved.expected_output)
        if expected is None:
            return Exclusion(deployment=deployment.id, stage="price", reason=self.prices.unpriced(deployment))
        blocked = self.health.blocked(deployment.id)
        if blocked is None and passed.limited:
            blocked = self.health.capacity_blocked(deployment, total)
        if blocked:
            stage = "health" if "circuit" in blocked else "capacity"
            return Exclusion(deployment=deployment.id, stage=stage, reason=blocked)
        if headroom is not None:
            reason = headroom.refusal(self.prices.estimate(deployment, tokens, max_tokens).max_usd)
            if reason is not None:
                return Exclusion(deployment=deployment.id, stage="budget", reason=reason)
        return Option(
            deployment.id, expected, self.health.latency_ms(deployment), deployment.quality_for(resolved.task)
        )

    def _candidate(self, resolved: RoutingInput, passed: Passed, option: Option, score: float) -> Candidate:
        deployment = passed.deployment
        tokens = resolved.counts[passed.counting_key]
        estimate = self.prices.estimate(deployment, tokens, resolved.route.request.max_tokens)
        return Candidate(
            deployment=deployment.id,
            provider=deployment.provider,
            model=deployment.model,
            processing_locations=list(passed.verdict.processing_locations),
            expected_cost_usd=estimate.expected_usd,
            max_cost_usd=estimate.max_usd,
            score=score,
            latency_ms=option.latency_ms,
            quality=option.quality,
            input_tokens=tokens.tokens,
        )

    async def complete(self, request: RouteRequest) -> RoutedCompletion:
        """Route and call; raises PolicyDenied, BudgetExceeded or NoRoute (each after writing a receipt)."""
        from polyroute.dispatch import dispatch

        return await dispatch(self, request)


def _context_reason(deployment: Deployment, tokens: int, max_tokens: int) -> str:
    if max_tokens > deployment.max_output_tokens:
        return f"max_tokens {max_tokens} exceeds its output limit of {deployment.max_output_tokens}"
    if tokens > deployment.input_limit:
        return f"{tokens} input tokens exceed its input limit of {deployment.input_limit}"
    window = deployment.context_window
    return f"{tokens} input + {max_tokens} output tokens exceed its context window of {window}"
