"""Why a past call went where it went, and where it would go today.

From a receipt: the facts that decided it (classification and whether it was defaulted, strategy, pin,
capabilities, tokens), the candidates with their prices and ranking scores and every exclusion with
its rule, as recorded; then the same facts planned under today's policy and catalog (no health,
capacity or budget — see `simulation`), and what changed since: the policy version, the catalog
digest, the choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from polyroute.audit.receipt import ReceiptStatus, find_receipt
from polyroute.errors import PolyrouteError
from polyroute.pastcall import past_call
from polyroute.planning import plan_from_facts
from polyroute.scenario import Decision, Scenario
from polyroute.types import Money

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.planning import RoutePlan


class Facts(BaseModel):
    jurisdiction: str
    data_class: str
    classification_defaulted: bool
    strategy: str
    pinned: str | None
    required: list[str]
    task: str | None
    input_tokens: dict[str, int] = Field(description="per tokenizer family, as counted for the call")
    max_tokens: int
    assumed: bool = Field(description="the receipt predates max_tokens/token counts: defaults stand in")


class Ranked(BaseModel):
    deployment: str
    expected_cost_usd: Money
    score: float
    input_per_mtok: Money | None = None
    output_per_mtok: Money | None = None


class Excluded(BaseModel):
    deployment: str
    stage: str
    reason: str
    rule: str | None = None


class Decided(BaseModel):
    """One plan of the call: as recorded, or as today's configuration makes it."""

    policy_version: str | None
    catalog_digest: str | None
    chosen: str | None = Field(
        description="where the call went (recorded; for a failed call, where it was planned first) or would "
        "go (today); None: refused"
    )
    candidates: list[Ranked]
    exclusions: list[Excluded]
    refusal: str | None = None


class RouteExplanation(BaseModel):
    receipt_id: str
    status: ReceiptStatus
    time: str
    principal: str
    facts: Facts
    then: Decided
    today: Decided
    changed: list[str] = Field(description="what differs since the call, in words; empty when nothing does")


async def explain_route(app: App, receipt_id: str) -> RouteExplanation:
    """The explanation of the call `receipt_id` names; PolyrouteError when the log has no such call."""
    receipt = await find_receipt(app.audit, receipt_id)
    if receipt is None:
        raise PolyrouteError(f"no audit event with receipt id {receipt_id!r}")
    if receipt.event_type not in ("intent", "completion", "failure", "refusal"):
        raise PolyrouteError(f"receipt {receipt_id!r} is a {receipt.event_type} event, not a routed call")
    event: dict[str, Any] = receipt.model_dump(mode="json")
    call = past_call(event, app.settings.defaults.strategy)
    f = call.facts
    facts = Facts(
        jurisdiction=f.jurisdiction, data_class=f.data_class, classification_defaulted=f.defaulted,
        strategy=f.strategy, pinned=f.pinned, required=list(f.required), task=f.task,
        input_tokens=dict(f.tokens) or {"any": _input_tokens(event)},
        max_tokens=f.max_tokens, assumed=call.assumed,
    )  # fmt: skip
    then = _recorded(event, call.deployment if receipt.status != "refused" else None)
    today = _today(app, call.facts)
    return RouteExplanation(
        receipt_id=receipt.receipt_id, status=receipt.status, time=call.time, principal=call.principal,
        facts=facts, then=then, today=today, changed=_changes(then, today),
    )  # fmt: skip


def _input_tokens(event: dict[str, Any]) -> int:
    details: dict[str, Any] = event.get("details") or {}
    return int(details.get("input_tokens") or 0)


def _recorded(event: dict[str, Any], chosen: str | None) -> Decided:
    details: dict[str, Any] = event.get("details") or {}
    recorded: list[Any] = details.get("candidates") or []
    excluded: list[Any] = details.get("exclusions") or []
    candidates = [Ranked.model_validate(c) for c in recorded]
    exclusions = [_with_rule(Excluded.model_validate(e)) for e in excluded]
    refused = event.get("event_type") == "refusal"
    return Decided(
        policy_version=event.get("policy_version"), catalog_digest=details.get("catalog_digest"),
        chosen=chosen, candidates=candidates, exclusions=exclusions,
        refusal="; ".join(event.get("reasons") or []) if refused else None,
    )  # fmt: skip


def _with_rule(exclusion: Excluded) -> Excluded:
    """A receipt cites a residency denial's rule in its reason ("denied by rule AE/personal")."""
    prefix = "denied by rule "
    if exclusion.rule is None and exclusion.stage == "residency" and exclusion.reason.startswith(prefix):
        exclusion.rule = exclusion.reason.removeprefix(prefix)
    return exclusion


def _today(app: App, facts: Any) -> Decided:
    scenario = Scenario(app.settings, app.policy, app.catalog)
    scenario.prices.refresh()
    screen = scenario.screen(facts)
    common = {"policy_version": app.policy.version, "catalog_digest": scenario.catalog_digest}
    if isinstance(screen, Decision):
        return Decided(**common, chosen=None, candidates=[], exclusions=[], refusal=screen.reason)
    plan = plan_from_facts(facts, screen, scenario.prices, policy_version=app.policy.version, conditions=None)
    decision = scenario.decide(facts)
    return Decided(
        **common, chosen=decision.deployment, candidates=_ranked(scenario, plan),
        exclusions=[Excluded.model_validate(e.model_dump()) for e in plan.exclusions],
        refusal=None if decision.deployment else decision.reason,
    )  # fmt: skip


def _ranked(scenario: Scenario, plan: RoutePlan) -> list[Ranked]:
    ranked: list[Ranked] = []
    for candidate in plan.candidates:
        rates = scenario.prices.rates(scenario.catalog.get(candidate.deployment))
        ranked.append(
            Ranked(
                deployment=candidate.deployment,
                expected_cost_usd=candidate.expected_cost_usd,
                score=candidate.score,
                input_per_mtok=rates.input.base * 1_000_000,
                output_per_mtok=rates.output.base * 1_000_000,
            )  # fmt: skip
        )
    return ranked


def _changes(then: Decided, today: Decided) -> list[str]:
    changed: list[str] = []
    if then.policy_version != today.policy_version:
        changed.append(f"the policy changed: {then.policy_version} then, {today.policy_version} today")
    if then.catalog_digest is None:
        changed.append(
            "the receipt does not name its catalog (an older log): catalog changes cannot be shown"
        )
    elif then.catalog_digest != today.catalog_digest:
        changed.append(f"the catalog changed: {then.catalog_digest} then, {today.catalog_digest} today")
    if then.chosen != today.chosen:
        was = then.chosen or "refused"
        now = today.chosen or f"refused ({today.refusal})"
        changed.append(f"the choice changed: {was} then, {now} today")
    return changed
