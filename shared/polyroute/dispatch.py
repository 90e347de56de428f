"""Carrying out a route plan: reserve budget, call candidates in order, settle, and write the receipt.

Split from `routing` because planning is pure and fast (the dry run) while this part spends money,
touches providers and writes the audit log. Exactly one receipt per routed call: "completion" on
success, "refusal" when nothing was called or everything failed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from polyroute import cost, locations
from polyroute.audit import EventContent, EventDraft, content_digest
from polyroute.errors import BudgetExceeded, PolyrouteError, ProviderError
from polyroute.providers import call_with_retries
from polyroute.refusal import no_route, refusal
from polyroute.routing import Candidate, Exclusion, RoutedCompletion
from polyroute.types import Attempt, Completion, Money

if TYPE_CHECKING:
    from polyroute.catalog import Deployment
    from polyroute.routing import RoutePlan, Router, RouteRequest

_BREAKER_STATUSES = frozenset({401, 403, 404, 408, 409, 429})  # the deployment's fault, not the request's


@dataclass
class _Run:
    """One routed call in progress: what was tried, how each try ended, and why candidates failed."""

    router: Router
    request: RouteRequest
    plan: RoutePlan
    attempts: list[Attempt] = field(default_factory=list[Attempt])
    failures: list[Exclusion] = field(default_factory=list[Exclusion])
    budget_refused: bool = False

    def fail(self, deployment: str, stage: str, reason: str) -> None:
        self.failures.append(Exclusion(deployment=deployment, stage=stage, reason=reason))

    async def first_success(self) -> tuple[Candidate, Deployment, Completion, Money] | None:
        for candidate in self.plan.candidates:
            outcome = await self.attempt(candidate)
            if outcome is not None:
                return outcome
        return None

    async def attempt(self, candidate: Candidate) -> tuple[Candidate, Deployment, Completion, Money] | None:
        """One candidate: claim the breaker, reserve, call with the provider layer's retries, settle."""
        router, request = self.router, self.request.request
        deployment = router.app.catalog.get(candidate.deployment)
        if not router.health.acquire(deployment.id):
            self.fail(deployment.id, "health", router.health.blocked(deployment.id) or "circuit open")
            return None
        try:
            reservation = await router.budgets.reserve_async(self.request.principal, candidate.max_cost_usd)
        except BudgetExceeded as error:
            router.health.release(deployment.id)
            self.budget_refused = True
            self.fail(deployment.id, "budget", str(error))
            return None
        router.health.record_use(deployment, candidate.input_tokens + request.max_tokens)
        try:
            completion, tries = await call_with_retries(router.app.providers, deployment, request)
        except PolyrouteError as error:
            self._failed(deployment, error)
            await router.budgets.release_async(reservation)
            return None
        except BaseException:  # cancelled: give back synchronously, awaiting here would be cancelled too
            router.health.release(deployment.id)
            router.budgets.release(reservation)
            raise
        self.attempts += tries
        router.health.record_success(deployment.id, completion.latency_ms)
        try:
            actual = cost.cost_of(deployment, completion.usage)
        except PolyrouteError:  # priced at plan time, so unexpected: charge the reserved maximum
            actual = candidate.max_cost_usd
        await router.budgets.settle_async(reservation, actual)
        return candidate, deployment, completion, actual

    def _failed(self, deployment: Deployment, error: PolyrouteError) -> None:
        if isinstance(error, ProviderError):
            tries: list[Attempt] = [a for a in error.attempts if isinstance(a, Attempt)]
            self.attempts += tries or [
                Attempt(
                    deployment=deployment.id,
                    ok=False,
                    error=str(error),
                    status=error.status,
                    retryable=error.retryable,
                )
            ]
            if error.retryable or error.status is None or error.status in _BREAKER_STATUSES:
                self.router.health.record_failure(deployment.id)
            else:
                self.router.health.release(deployment.id)
        else:  # e.g. no API key configured: not a health problem of the endpoint
            self.attempts.append(Attempt(deployment=deployment.id, ok=False, error=str(error)))
            self.router.health.release(deployment.id)
        self.fail(deployment.id, "failed", str(error))


async def dispatch(router: Router, request: RouteRequest) -> RoutedCompletion:
    """Plan, call with fallbacks inside the compliant set, and write exactly one receipt."""
    started = time.perf_counter()
    await router.app.audit.ready()  # no receipt could be written, no call: stop before any provider
    router.app.providers  # noqa: B018  a bad timeout setting is a ConfigError here, not N "failed" candidates
    plan = router.plan(request)
    refusal_error = refusal(router, plan)
    if refusal_error is not None:
        await _refuse(router, request, plan, refusal_error, _Run(router, request, plan))
        raise refusal_error
    run = _Run(router, request, plan)
    try:
        outcome = await run.first_success()
    except anyio.get_cancelled_exc_class():  # the caller gave up: a provider may have seen it all the same
        with anyio.CancelScope(shield=True):
            await _refuse(router, request, plan, PolyrouteError("cancelled by the caller"), run)
        raise
    if outcome is None:
        error: PolyrouteError = no_route([*plan.exclusions, *run.failures], plan)
        if run.budget_refused and not run.attempts:
            error = BudgetExceeded(f"no call made: {run.failures[0].reason}")
        await _refuse(router, request, plan, error, run)
        raise error
    result = _result(router, plan, run, outcome, started)
    draft = _completion_event(router, request, plan, run, result, outcome[2])
    content = None
    if router.app.settings.audit.store_content:  # opt-in: the store keeps the text (digests always)
        content = EventContent(prompt=request.request.text(), completion=result.text)
    event = await router.app.audit.append(draft, content=content)
    result.receipt_id = event.id
    return result


def _result(
    router: Router,
    plan: RoutePlan,
    run: _Run,
    outcome: tuple[Candidate, Deployment, Completion, Money],
    started: float,
) -> RoutedCompletion:
    candidate, deployment, completion, actual = outcome
    return RoutedCompletion(
        text=completion.text,
        deployment=deployment.id,
        provider=deployment.provider,
        model=completion.model,
        processing_locations=candidate.processing_locations,
        usage=completion.usage,
        estimated_cost_usd=candidate.expected_cost_usd,
        cost_usd=actual,
        latency_ms=(time.perf_counter() - started) * 1000,
        attempts=run.attempts,
        receipt_id="",
        inference_geo=completion.inference_geo,
        residency_mismatch=residency_mismatch(
            router, plan, deployment, completion.inference_geo, declared=candidate.processing_locations
        ),
        classification_defaulted=plan.classification_defaulted,
        jurisdiction=plan.jurisdiction,
        data_class=plan.data_class,
        strategy=plan.strategy,
        exclusions=[*plan.exclusions, *run.failures],
    )


def reported_locations(geo: str) -> tuple[str, ...] | None:
    """Where a provider says inference ran, as countries (("ANY",) for global); None if unknown."""
    name = geo.strip()
    if name.lower() in ("global", "any"):
        return (locations.ANY,)
    resolved, unknown = locations.expand([name.upper()])
    return None if unknown or not resolved else tuple(sorted(resolved))


def residency_mismatch(
    router: Router, plan: RoutePlan, deployment: Deployment, geo: str | None, *, declared: Sequence[str] = ()
) -> bool:
    """True when the provider reports running somewhere the policy does not allow, somewhere unknown, or
    outside the deployment's `declared` processing locations (a `us` deployment answering from "eu"):
    the verdict that let the call through rested on those, so the receipt must not look clean."""
    if geo is None:
        return False
    where = reported_locations(geo)
    if where is None:
        return True
    if declared and locations.ANY not in declared and not set(where) <= set(declared):
        return True
    reported = deployment.model_copy(update={"processing_locations": where})
    return not router.judge(plan.jurisdiction, plan.data_class, reported).allowed


def _common(router: Router, request: RouteRequest, plan: RoutePlan, run: _Run) -> dict[str, Any]:
    """The receipt fields every routed call has, refused or not; `details` holds the plan and attempts."""
    settings = router.app.settings
    details: dict[str, Any] = {
        "strategy": plan.strategy,
        "pinned": plan.pinned,
        "required": plan.required,
        "input_tokens": plan.input_tokens,
        "candidates": [
            {
                "deployment": c.deployment,
                "expected_cost_usd": float(c.expected_cost_usd),
                "max_cost_usd": float(c.max_cost_usd),
                "score": c.score,
            }
            for c in plan.candidates
        ],  # fmt: skip
        "more_candidates": plan.more_candidates,
        "exclusions": [_receipt_exclusion(e) for e in [*plan.exclusions, *run.failures]],
        "attempts": [a.model_dump(mode="json") for a in run.attempts],
    }
    return {
        "principal": request.principal,
        "tool": request.tool or "complete",
        "request_id": request.request_id,
        "jurisdiction": plan.jurisdiction,
        "data_class": plan.data_class,
        "classification_defaulted": plan.classification_defaulted,
        "policy_version": plan.policy_version,
        "request_hash": content_digest(settings, request.request.model_dump_json()),
        "prompt_digest": content_digest(settings, request.request.text()),
        "details": details,
    }


def _receipt_exclusion(exclusion: Exclusion) -> dict[str, str]:
    """An exclusion as the receipt keeps it. A residency denial cites its rule rather than repeating the
    verdict's sentences (the receipt names the policy version, so `check_residency` gives them back);
    this keeps a receipt a few kB instead of ~15 kB on the bundled catalog, and its append faster."""
    if exclusion.stage == "residency" and exclusion.rule:
        return {
            "deployment": exclusion.deployment,
            "stage": "residency",
            "reason": f"denied by rule {exclusion.rule}",
        }
    return {"deployment": exclusion.deployment, "stage": exclusion.stage, "reason": exclusion.reason}


def _completion_event(
    router: Router,
    request: RouteRequest,
    plan: RoutePlan,
    run: _Run,
    result: RoutedCompletion,
    completion: Completion,
) -> EventDraft:
    fields = _common(router, request, plan, run)
    fields["details"].update(
        chosen=result.deployment,
        residency_mismatch=result.residency_mismatch,
        provider_request_id=completion.request_id,
        processing_locations=result.processing_locations,
        cost_gap_usd=float(result.cost_usd - result.estimated_cost_usd),  # actual − estimate, for calibration
    )
    mismatch = f"residency mismatch: the provider reports inference in {result.inference_geo}"
    return EventDraft(
        event_type="completion",
        deployment=result.deployment,
        provider=result.provider,
        model=result.model,
        allowed=True,
        reasons=[mismatch] if result.residency_mismatch else [],
        usage=result.usage,
        estimated_cost_usd=result.estimated_cost_usd,
        cost_usd=result.cost_usd,
        latency_ms=result.latency_ms,
        inference_geo=result.inference_geo,
        completion_digest=content_digest(router.app.settings, result.text),
        **fields,
    )


async def _refuse(
    router: Router, request: RouteRequest, plan: RoutePlan, error: PolyrouteError, run: _Run
) -> None:
    fields = _common(router, request, plan, run)
    fields["details"]["error"] = type(error).__name__
    draft = EventDraft(
        event_type="refusal",
        deployment=plan.pinned if plan.pinned in router.app.catalog else None,
        allowed=False,
        reasons=[str(error)],
        estimated_cost_usd=plan.candidates[0].expected_cost_usd if plan.candidates else None,
        **fields,
    )
    await router.app.audit.append(draft)
