"""Why a routed call cannot go ahead, as the error a caller gets: PolicyDenied, BudgetExceeded, NoRoute.

Each names what was wrong and what was considered, so a person (or an assistant) can act on it:
the verdict for a denied pin, the budget that would be exceeded, every deployment and its exclusion.
"""

from __future__ import annotations

import re
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
        what = _what(plan)
        return PolicyDenied(
            f"{plan.pinned} may not take {what}: {_generic(denied[0])}",
            verdict=verdict,
        )
    over = [e for e in plan.exclusions if e.stage == "budget"]
    if over:
        others = f" (and {len(over) - 1} more allowed deployments likewise)" if len(over) > 1 else ""
        return BudgetExceeded(f"no call made: {over[0].deployment} {over[0].reason}{others}")
    return no_route(plan.exclusions, plan)


def no_route(exclusions: Sequence[Exclusion], plan: RoutePlan) -> NoRoute:
    """A NoRoute naming every deployment considered and why it was excluded or failed, grouped by reason
    so that thirty deployments missing the same key read as one line, not thirty."""
    groups = exclusion_groups(exclusions)
    tried = sum(len(ids) for stage, _, ids in groups if stage == "failed")
    what = _what(plan)
    head = f"no deployment can take {what}"
    if any(stage not in ("residency", "capability", "context") for stage, _, _ in groups):
        head = f"no deployment available for {what}"  # allowed ones exist, but not now (health, budget…)
    if tried:
        head = f"no deployment answered for {what}: {tried} tried, all failed"
    parts = [f"{stage} ({len(ids)}): {reason}: {_ids(ids, len(exclusions))}" for stage, reason, ids in groups]
    if plan.more_candidates:
        parts.append(f"{plan.more_candidates} more compliant deployments ranked lower were not tried")
    listed = "; ".join(parts) or "the catalog has no deployment to consider"
    return NoRoute(f"{head} — {listed}", exclusions=list(exclusions))


def _what(plan: RoutePlan) -> str:
    from polyroute.screen import NO_JURISDICTION

    if plan.jurisdiction == NO_JURISDICTION:
        return f"{plan.data_class} data (no jurisdiction given)"
    return f"{plan.data_class} data for {plan.jurisdiction}"


def exclusion_groups(exclusions: Sequence[Exclusion]) -> list[tuple[str, str, list[str]]]:
    """(stage, reason, deployment ids): failures first (the fixable ones), residency last; a deployment's
    own id is taken out of its reason so equal reasons group; many residency reasons group by rule."""
    residency = {_generic(e) for e in exclusions if e.stage == "residency"}
    groups: dict[tuple[str, str], list[str]] = {}
    for exclusion in exclusions:
        reason = _generic(exclusion)
        if exclusion.stage == "residency" and len(residency) > 3:
            rule = f" (rule {exclusion.rule})" if exclusion.rule else ""
            reason = f"not allowed by the residency policy{rule}"
        groups.setdefault((exclusion.stage, reason), []).append(exclusion.deployment)
    order = {"failed": 0, "residency": 2}
    ranked = sorted(groups.items(), key=lambda item: order.get(item[0][0], 1))
    return [(stage, reason, ids) for (stage, reason), ids in ranked]


def _generic(exclusion: Exclusion) -> str:
    """The reason without the deployment's id ("no API key for deployment 'x': …" → "no API key: …")."""
    name = re.escape(exclusion.deployment)
    reason = re.sub(rf"\s*(?:for deployment )?(?:'{name}'|\({name}\))", "", exclusion.reason)
    parts = (part.removeprefix(f"{exclusion.deployment}: ") for part in reason.split("; "))
    return "; ".join(dict.fromkeys(parts))


def _ids(ids: list[str], considered: int) -> str:
    everything = f"all {considered} deployments considered: " if len(ids) == considered > 3 else ""
    return everything + ", ".join(ids)
