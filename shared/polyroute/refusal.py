"""Why a routed call cannot go ahead, as the error a caller gets: PolicyDenied, BudgetExceeded, NoRoute.

Each names what was wrong and what was considered, so a person (or an assistant) can act on it:
the verdict for a denied pin, the budget that would be exceeded, every deployment and its exclusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from polyroute.errors import BudgetExceeded, NoRoute, PolicyDenied, PolyrouteError

if TYPE_CHECKING:
    from polyroute.routing import Exclusion, RoutePlan, Router


def refusal(router: Router, plan: RoutePlan) -> PolyrouteError | None:
    """Why a plan cannot be carried out at all, as the error to raise; None when it has candidates."""
    if plan.candidates:
        return None
    denied = [e for e in plan.exclusions if e.stage == "residency"]
    if plan.pinned is not None and plan.pinned in router.app.catalog and denied:
        deployment = router.app.catalog.get(plan.pinned)
        verdict = router.verdict(plan.jurisdiction, plan.data_class, deployment)
        return PolicyDenied(
            f"{plan.pinned} may not take {plan.data_class} data for {plan.jurisdiction}: {denied[0].reason}",
            verdict=verdict,
        )
    budget = next((e for e in plan.exclusions if e.stage == "budget"), None)
    if budget is not None:
        return BudgetExceeded(f"no call made: {budget.deployment} {budget.reason}")
    return no_route(plan.exclusions, plan)


def no_route(exclusions: Sequence[Exclusion], plan: RoutePlan) -> NoRoute:
    """A NoRoute naming every deployment considered and why it was excluded or failed.

    Residency denials share their reason when few reasons cover them all (an unknown jurisdiction
    denies everything for one reason); otherwise they are listed by id, their reasons in `exclusions`.
    """
    denied: dict[str, list[str]] = {}
    for exclusion in exclusions:
        if exclusion.stage == "residency":
            denied.setdefault(exclusion.reason, []).append(exclusion.deployment)
    parts = [f"{e.deployment}: {e.stage}: {e.reason}" for e in exclusions if e.stage != "residency"]
    if 0 < len(denied) <= 3:  # e.g. one reason for all: an unknown jurisdiction or data class
        parts += [f"residency: {reason} — {', '.join(ids)}" for reason, ids in denied.items()]
    elif denied:
        ids = [deployment for group in denied.values() for deployment in group]
        parts.append(f"not allowed by the residency policy: {', '.join(ids)}")
    if plan.more_candidates:
        parts.append(f"{plan.more_candidates} more compliant deployments ranked lower were not tried")
    listed = "; ".join(parts) or "the catalog has no deployment to consider"
    return NoRoute(f"no deployment can take {plan.data_class} data for {plan.jurisdiction} — {listed}",
                   exclusions=list(exclusions))  # fmt: skip
