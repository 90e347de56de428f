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
from typing import TYPE_CHECKING, Any

from polyroute.audit import AuditEvent, EventDraft, content_digest
from polyroute.errors import PolyrouteError
from polyroute.types import Attempt, Completion

if TYPE_CHECKING:
    from polyroute.routing import Exclusion, RoutedCompletion, RoutePlan, RouteRequest
    from polyroute.settings import Settings


@dataclass(frozen=True)
class CallFacts:
    """What every event of one routed call repeats: who asked, the plan, and digests of the request
    (computed once per call: HMAC over the whole request is not free)."""

    request: RouteRequest
    plan: RoutePlan
    request_hash: str
    prompt_digest: str

    @classmethod
    def of(cls, settings: Settings, request: RouteRequest, plan: RoutePlan) -> CallFacts:
        return cls(
            request=request,
            plan=plan,
            request_hash=content_digest(settings, request.request.model_dump_json()),
            prompt_digest=content_digest(settings, request.request.text()),
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
            "exclusions": [_receipt_exclusion(e) for e in [*plan.exclusions, *failures]],
            "attempts": [a.model_dump(mode="json") for a in attempts],
        }
        if plan.task is not None:
            details["task"] = plan.task
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


def _linked(intent: AuditEvent | None) -> dict[str, Any]:
    return {} if intent is None else {"intent_id": intent.id, "intent_seq": intent.seq}


def completion_event(
    facts: CallFacts,
    intent: AuditEvent,
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
    intent: AuditEvent | None,
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
