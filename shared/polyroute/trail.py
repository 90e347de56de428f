"""The audit events a routed call leaves: its `intent`, then exactly one outcome naming it.

The intent is the routing decision (classification, policy version, every candidate and exclusion,
keyed digests of the request), appended durably before any provider can see the request: a process
killed mid-call still leaves a trace of every request that may have gone out. The outcome — a
`completion`, a `failure` (every attempt failed, or the caller gave up) or a `refusal` (denied before
any provider was reached, e.g. by the budget) — repeats the decision with what happened (attempts,
usage, cost, where it ran), so one event answers "what did this call do", and names its intent in
`intent_id` / `intent_seq`. A call refused at planning time leaves only a `refusal`, no intent.
These are pure functions of the call's facts: the dispatcher decides when each is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from polyroute.audit import EventDraft, content_digest
from polyroute.audit.event import Encoded
from polyroute.errors import PolyrouteError, QuotaExceeded
from polyroute.types import Attempt, Completion

if TYPE_CHECKING:
    from polyroute.routing import Exclusion, RoutedCompletion, RoutePlan, RouteRequest
    from polyroute.settings import Settings


class Linked(Protocol):
    """What an outcome names of its intent (an `AuditEvent`, or the `Ahead` a store answers: its seq
    is None while the intent waits in the journal, and the store fills it in)."""

    @property
    def id(self) -> str: ...
    @property
    def seq(self) -> int | None: ...


@dataclass(frozen=True)
class CallFacts:
    """What every event of one routed call repeats: who asked, the plan, digests of the request, and
    the plan's candidates and exclusions in canonical form (computed once per call, not per event:
    HMAC over the whole request is not free, and the exclusions are most of a receipt's bytes)."""

    request: RouteRequest
    plan: RoutePlan
    request_hash: str
    prompt_digest: str
    candidates: Encoded
    exclusions: Encoded

    @classmethod
    def of(cls, settings: Settings, request: RouteRequest, plan: RoutePlan) -> CallFacts:
        return cls(
            request=request,
            plan=plan,
            request_hash=content_digest(settings, request.request.model_dump_json()),
            prompt_digest=content_digest(settings, request.request.text()),
            candidates=Encoded(
                [
                    {
                        "deployment": c.deployment,
                        "expected_cost_usd": float(c.expected_cost_usd),
                        "max_cost_usd": float(c.max_cost_usd),
                        "score": c.score,
                    }
                    for c in plan.candidates
                ]
            ),  # fmt: skip
            exclusions=_encoded_exclusions(tuple(_receipt_exclusion(e) for e in plan.exclusions)),
        )

    def fields(self, attempts: Sequence[Attempt], failures: Sequence[Exclusion]) -> dict[str, Any]:
        """The receipt fields every routed call has; `details` holds the plan and the attempts."""
        plan, request = self.plan, self.request
        details: dict[str, Any] = {
            "strategy": plan.strategy,
            "pinned": plan.pinned,
            "required": plan.required,
            "input_tokens": plan.input_tokens,
            "max_tokens": request.request.max_tokens,  # with the counts below: what a replay needs
            "token_counts": plan.token_counts,
            "catalog_digest": plan.catalog_digest,
            "candidates": self.candidates,
            "more_candidates": plan.more_candidates,
            "exclusions": self._exclusions(failures),
            "attempts": [a.model_dump(mode="json") for a in attempts],
        }
        if plan.task is not None:
            details["task"] = plan.task
        if request.teams:  # carried by the caller's identity (an OAuth team claim), not in [teams]
            details["teams"] = request.teams
        return {
            "principal": request.principal,
            "tool": request.tool or "complete",
            "request_id": request.request_id,
            "jurisdiction": plan.jurisdiction,
            "data_class": plan.data_class,
            "classification_defaulted": plan.classification_defaulted,
            "policy_version": plan.policy_version,
            "request_hash": self.request_hash,
            "prompt_digest": self.prompt_digest,
            "details": details,
        }

    def _exclusions(self, failures: Sequence[Exclusion]) -> Encoded:
        if not failures:
            return self.exclusions
        return _encode_exclusions([_receipt_exclusion(e) for e in [*self.plan.exclusions, *failures]])


@lru_cache(maxsize=256)
def _encoded_exclusions(exclusions: tuple[tuple[str, str, str], ...]) -> Encoded:
    """The plan's exclusions in canonical form, cached: the same classification and policy exclude the
    same deployments for the same reasons call after call, and encoding them is most of a receipt's cost."""
    return _encode_exclusions(exclusions)


def _encode_exclusions(exclusions: Sequence[tuple[str, str, str]]) -> Encoded:
    return Encoded([{"deployment": d, "stage": stage, "reason": reason} for d, stage, reason in exclusions])


def _receipt_exclusion(exclusion: Exclusion) -> tuple[str, str, str]:
    """An exclusion as the receipt keeps it. A residency denial cites its rule rather than repeating the
    verdict's sentences (the receipt names the policy version, so `check_residency` gives them back);
    this keeps a receipt a few kB instead of ~15 kB on the bundled catalog, and its append faster.
    As (deployment, stage, reason)."""
    if exclusion.stage == "residency" and exclusion.rule:
        return exclusion.deployment, "residency", f"denied by rule {exclusion.rule}"
    return exclusion.deployment, exclusion.stage, exclusion.reason


def intent_event(facts: CallFacts) -> EventDraft:
    """The plan, before any provider is contacted; `deployment` is the one planned first."""
    fields = facts.fields((), ())
    del fields["details"]["attempts"]
    first = facts.plan.candidates[0]
    return EventDraft(
        event_type="intent",
        deployment=first.deployment,
        provider=first.provider,
        model=first.model,
        allowed=True,
        estimated_cost_usd=first.expected_cost_usd,
        **fields,
    )


def _linked(intent: Linked | None) -> dict[str, Any]:
    return {} if intent is None else {"intent_id": intent.id, "intent_seq": intent.seq}


def completion_event(
    facts: CallFacts,
    intent: Linked,
    result: RoutedCompletion,
    completion: Completion,
    settings: Settings,
    failures: Sequence[Exclusion],
) -> EventDraft:
    fields = facts.fields(result.attempts, failures)
    fields["details"].update(
        chosen=result.deployment,
        residency_mismatch=result.residency_mismatch,
        provider_request_id=completion.request_id,
        processing_locations=result.processing_locations,
        cost_gap_usd=float(result.cost_usd - result.estimated_cost_usd),  # actual − estimate, for calibration
        estimated_input_tokens=next(  # the chosen deployment's count, for the estimate error
            (c.input_tokens for c in facts.plan.candidates if c.deployment == result.deployment), None
        ),
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
        completion_digest=content_digest(settings, result.text),
        **_linked(intent),
        **fields,
    )


def unfinished_event(
    facts: CallFacts,
    intent: Linked | None,
    error: PolyrouteError,
    attempts: Sequence[Attempt],
    failures: Sequence[Exclusion],
    *,
    pinned_known: bool,
) -> EventDraft:
    """A call that produced no completion: a `refusal` when no attempt was made (denied before any
    provider, by policy at planning time or by the budget), else a `failure` naming what was tried."""
    fields = facts.fields(attempts, failures)
    fields["details"]["error"] = type(error).__name__
    if isinstance(error, QuotaExceeded):  # which quota, and when the caller was told to come back
        fields["details"]["quota"] = {"scope": error.scope, "requests_per_minute": error.limit,
                                      "retry_after_s": error.retry_after_s}  # fmt: skip
    plan = facts.plan
    estimate = plan.candidates[0].expected_cost_usd if plan.candidates else None
    if not attempts:
        return EventDraft(
            event_type="refusal",
            deployment=plan.pinned if pinned_known else None,
            allowed=False,
            reasons=[str(error)],
            estimated_cost_usd=estimate,
            **_linked(intent),
            **fields,
        )
    tried = list(dict.fromkeys(a.deployment for a in attempts))
    fields["details"]["tried"] = tried
    return EventDraft(
        event_type="failure",
        deployment=tried[-1],  # where the call finally failed; `details.tried` lists them all
        allowed=True,  # the policy allowed it; the providers (or the caller) did not finish it
        reasons=[str(error)],
        estimated_cost_usd=estimate,
        **_linked(intent),
        **fields,
    )
