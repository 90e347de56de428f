"""Carrying out a route plan: record the intent, reserve budget, call candidates in order, settle, and
record the outcome.

Split from `routing` because planning is pure and fast (the dry run) while this part spends money,
touches providers and writes the audit log (the events themselves are built in `trail`). The intent
is durable before any provider can see the request — the one durable write a call waits for, at the
send point (sendgate.py), so that a lone call's SDK builds its request meanwhile; the outcome
(`completion`, `failure`, or `refusal` when the budget stopped every attempt) is queued for the next
group commit off the response path. A call refused at planning time leaves one `refusal`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

from polyroute import cost, locations, sendgate
from polyroute.audit import EventContent, EventDraft
from polyroute.audit.draft import Ahead
from polyroute.errors import BudgetExceeded, PolyrouteError, ProviderError, QuotaExceeded
from polyroute.providers import call_with_retries
from polyroute.refusal import no_route, refusal
from polyroute.routing import Candidate, Exclusion, RoutedCompletion
from polyroute.telemetry import NO_CALL, CallTrace, Telemetry
from polyroute.trail import CallFacts, completion_event, intent_event, unfinished_event
from polyroute.types import Attempt, Completion, Money

if TYPE_CHECKING:
    from polyroute.audit import AuditStore
    from polyroute.catalog import Deployment
    from polyroute.quota import Slot
    from polyroute.routing import RoutePlan, Router, RouteRequest

log = logging.getLogger("polyroute.dispatch")
CANCELLED = "cancelled by the caller while waiting for the provider (it may have received the request)"

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
    trace: CallTrace = NO_CALL

    def fail(self, deployment: str, stage: str, reason: str) -> None:
        self.failures.append(Exclusion(deployment=deployment, stage=stage, reason=reason))

    async def first_success(self) -> tuple[Candidate, Deployment, Completion, Money] | None:
        for index, candidate in enumerate(self.plan.candidates):
            traced, before = self.trace.attempt(candidate, index), len(self.attempts)
            try:
                outcome = await self.attempt(candidate)
            except BaseException as error:
                traced.end(error)
                raise
            traced.tried(self.attempts[before:], *(outcome[2:] if outcome else (None, None)))
            traced.end()
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
            reservation = await router.budgets.reserve_async(
                self.request.principal, candidate.max_cost_usd, self.request.teams
            )
        except BudgetExceeded as error:
            router.health.release(deployment.id)
            self.budget_refused = True
            self.fail(deployment.id, "budget", str(error))
            return None
        router.health.record_use(deployment, candidate.input_tokens + request.max_tokens)
        try:
            completion, tries = await call_with_retries(router.app.providers, deployment, request)
        except PolyrouteError as error:
            lost = sendgate.failure()  # the intent held for this call could not be written
            if lost is None:
                self._failed(deployment, error)
            else:  # the request never left: no receipt could be written, no candidate may be tried
                router.health.release(deployment.id)
            await router.budgets.release_async(reservation)
            if lost is not None:
                raise lost from None
            return None
        except BaseException:  # cancelled: give back synchronously, awaiting here would be cancelled too
            self.attempts.append(Attempt(deployment=deployment.id, ok=False, error=CANCELLED))
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


async def dispatch(
    router: Router, request: RouteRequest, *, telemetry: Telemetry | None = None
) -> RoutedCompletion:
    """Plan; record the intent; call with fallbacks inside the compliant set; queue the outcome.
    `telemetry` (default: the App's, a no-op unless enabled) traces it: docs/observability.md."""
    router.in_flight += 1
    try:
        with (telemetry or router.app.telemetry).call(router, request) as trace:
            result = await _dispatch(router, request, trace)
            if log.isEnabledFor(logging.INFO):  # one line per call, inside its span (ids in JSON logs)
                _log_call(result)
            return result
    finally:
        router.in_flight -= 1


def _log_call(result: RoutedCompletion) -> None:
    usage = result.usage
    log.info("routed call %s to %s: %d input + %d output tokens, %s USD", result.receipt_id,
             result.deployment, usage.input_tokens, usage.output_tokens, result.cost_usd)  # fmt: skip


async def _dispatch(router: Router, request: RouteRequest, trace: CallTrace) -> RoutedCompletion:
    started = time.perf_counter()
    audit = router.app.audit
    await audit.ready()  # no receipt could be written, no call: stop before any provider
    router.app.providers  # noqa: B018  a bad timeout setting is a ConfigError here, not N "failed" candidates
    plan = router.plan(request)
    trace.planned(plan)
    facts = CallFacts.of(router.app.settings, request, plan)
    refusal_error, slot = await _admit(router, request, plan)
    if refusal_error is not None:
        with trace.appending("refusal") as timed:
            draft = _unfinished(router, facts, None, refusal_error, _Run(router, request, plan))
            timed.done((await audit.append(draft)).seq)
        raise refusal_error
    alone = router.in_flight == 1  # no other routed call in flight: the store may batch differently
    intent = await _record_intent(audit, facts, trace, alone=alone)
    run = _Run(router, request, plan, trace=trace)
    try:
        await _cancellation_asked()  # cancelled while the intent was handed over: no provider reached
        with sendgate.holding(intent.durable):  # every provider request waits until the intent is durable
            outcome = await run.first_success()
        await intent.durable.wait()  # settled even when no candidate got as far as sending
    except anyio.get_cancelled_exc_class():  # the caller gave up: a provider may have seen it all the same
        if await _settled(intent):
            cancelled = PolyrouteError("cancelled by the caller")
            audit.append_later(_unfinished(router, facts, intent, cancelled, run), alone=alone)
        raise
    if outcome is None:
        error: PolyrouteError = no_route([*plan.exclusions, *run.failures], plan)
        if run.budget_refused and not run.attempts:
            error = BudgetExceeded(f"no call made: {run.failures[0].reason}")
            await router.quotas.give_back_async(slot)  # refused: the call takes no request slot
        audit.append_later(_unfinished(router, facts, intent, error, run), alone=alone)
        raise error
    result = _result(router, plan, run, outcome, started)
    result.receipt_id = intent.id
    _record_completion(audit, router, facts, intent, run, result, outcome[2], alone=alone)
    trace.finished(result, outcome[2])
    return result


async def _settled(intent: Ahead) -> bool:
    """Whether the intent of a cancelled call became durable (shielded: it is still being written, or
    chained after another process held the lock); no provider saw a request of an intent that did not."""
    with anyio.CancelScope(shield=True):
        try:
            await intent.durable.wait()
        except PolyrouteError as error:
            log.error("intent %s of a cancelled call was not recorded: %s", intent.id, error)
            return False
    return True


async def _cancellation_asked() -> None:
    """Raise the cancellation the caller asked for while the intent was written, if any: a turn of the
    event loop (~20 µs inside a call) only then. A lone call's intent is journaled without suspending, so
    mostly nothing is pending; anyio scopes (move_on_after, task groups) are checked by anyio, a bare
    asyncio `task.cancel()` (e.g. `asyncio.wait_for`) by the task's pending cancel requests."""
    await anyio.lowlevel.checkpoint_if_cancelled()
    try:
        task = asyncio.current_task()
    except RuntimeError:  # not on asyncio (trio): anyio saw every cancellation
        return
    if task is not None and task.cancelling():
        await anyio.lowlevel.checkpoint()


async def _admit(
    router: Router, request: RouteRequest, plan: RoutePlan
) -> tuple[PolyrouteError | None, Slot | None]:
    """Why the plan cannot go ahead (`refusal`), else the call's slot in each requests-per-minute quota
    (`quota`), taken only now: a call refused for any reason takes none."""
    refused = refusal(router, plan)
    if refused is not None:
        return refused, None
    try:
        return None, await router.quotas.take_async(request.principal, request.teams)
    except QuotaExceeded as error:
        return error, None


async def _record_intent(audit: AuditStore, facts: CallFacts, trace: CallTrace, *, alone: bool) -> Ahead:
    """Durable before any provider sees the request (sendgate.py). Shielded: a caller that gives up
    meanwhile gets its cancellation right after, and the outcome then says no provider was reached.
    `alone`: no other routed call is in flight, so the store may finish writing it while the call
    builds its provider request (`append_ahead`)."""
    intent: Ahead | None = None
    with anyio.CancelScope(shield=True), trace.appending("intent") as timed:
        intent = await audit.append_ahead(intent_event(facts), alone=alone)
        timed.done(intent.seq)
    assert intent is not None
    return intent


def _record_completion(
    audit: AuditStore,
    router: Router,
    facts: CallFacts,
    intent: Ahead,
    run: _Run,
    result: RoutedCompletion,
    completion: Completion,
    *,
    alone: bool,
) -> None:
    settings = router.app.settings
    draft = completion_event(facts, intent, result, completion, settings, run.failures)
    content = None
    if settings.audit.store_content:  # opt-in: the store keeps the text (digests always)
        content = EventContent(prompt=facts.request.request.text(), completion=result.text)
    audit.append_later(draft, content=content, alone=alone)
    router.app.calibration.learn(draft)  # real input tokens move later quotes: in memory, µs


def _unfinished(
    router: Router, facts: CallFacts, intent: Ahead | None, error: PolyrouteError, run: _Run
) -> EventDraft:
    pinned_known = facts.plan.pinned is not None and facts.plan.pinned in router.app.catalog
    return unfinished_event(facts, intent, error, run.attempts, run.failures, pinned_known=pinned_known)


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


async def refuse(router: Router, request: RouteRequest, error: PolyrouteError) -> None:
    """Record a call refused before dispatch, for a reason the plan cannot see (the user declined to
    classify the data), as the same `refusal` event a plan-time denial leaves."""
    plan = router.plan(request)
    facts = CallFacts.of(router.app.settings, request, plan)
    await router.app.audit.append(_unfinished(router, facts, None, error, _Run(router, request, plan)))
