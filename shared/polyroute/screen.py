"""The static screen: capabilities and residency, which depend only on the request's classification.

A routing decision re-checks what changes from call to call (context fit, health, capacity, budget,
price); what does not — which deployments have the required capabilities and which the policy allows
for this (jurisdiction, data class) — is computed once per (jurisdiction, data class, policy version,
required capabilities, catalog) and reused, exclusions included. Verdicts are cached per deployment too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, Field

from polyroute.catalog import Catalog, Deployment
from polyroute.tokencount import counting_key

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.residency import Verdict

NO_JURISDICTION = "unspecified"
_MAX_SCREENS = 512


class Exclusion(BaseModel):
    deployment: str
    stage: str  # capability | residency | context | price | health | capacity | budget | failed
    reason: str
    rule: str | None = Field(default=None, description="for residency: the policy rule that denied it")


class Passed(NamedTuple):
    deployment: Deployment
    verdict: Verdict
    counting_key: str
    limited: bool  # has requests- or tokens-per-minute limits (else no capacity check is needed)


class Screen(NamedTuple):
    passed: tuple[Passed, ...]
    excluded: tuple[Exclusion, ...]
    keys: tuple[str, ...] = ()  # the passed deployments' counting keys, each once, in order


class Screener:
    """Verdicts and screens for one App, shared by every request it routes."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._verdicts: dict[tuple[str, str, str, str], Verdict] = {}
        self._screens: dict[tuple[str, str, str, tuple[str, ...]], tuple[Catalog, Screen]] = {}

    def verdict(self, jurisdiction: str, data_class: str, deployment: Deployment) -> Verdict:
        """The policy's verdict, cached per (jurisdiction, data class, policy version, deployment)."""
        key = (jurisdiction, data_class, self.app.policy.version, deployment.id)
        found = self._verdicts.get(key)
        if found is None:
            found = self._verdicts[key] = self.judge(jurisdiction, data_class, deployment)
        return found

    def judge(self, jurisdiction: str, data_class: str, deployment: Deployment) -> Verdict:
        """The policy's verdict, uncached (e.g. for where a provider says a call actually ran)."""
        from polyroute.residency import Verdict

        if jurisdiction != NO_JURISDICTION:
            return self.app.policy.check(jurisdiction, data_class, deployment, deployment_id=deployment.id)
        from polyroute.policy import DATA_CLASSES

        allowed = data_class == "public"
        reason = (
            "public data with no jurisdiction given: no residency constraint applies"
            if allowed
            else f"{data_class} data needs a jurisdiction (pass one, or set one under [defaults] in config)"
        )
        if data_class not in DATA_CLASSES:  # say what is wrong first: a jurisdiction would not help
            reason = f"unknown data class {data_class!r}: expected one of {', '.join(DATA_CLASSES)}"
        return Verdict(
            allowed=allowed,
            rule=None,
            reasons=[reason],
            processing_locations=list(deployment.processing_locations),
            storage_locations=list(deployment.storage_locations),
            deployment=deployment.id,
            jurisdiction=jurisdiction,
            data_class=data_class,
            policy_version=self.app.policy.version,
        )

    def screen(
        self, pool: Sequence[Deployment], *, whole_catalog: bool, jurisdiction: str, data_class: str,
        required: tuple[str, ...],
    ) -> Screen:  # fmt: skip
        """Which of `pool` pass capabilities and residency; cached when the pool is the whole catalog."""
        if not whole_catalog:
            return self._screen(pool, jurisdiction, data_class, required)
        catalog = self.app.catalog
        key = (jurisdiction, data_class, self.app.policy.version, required)
        found = self._screens.get(key)
        if found is None or found[0] is not catalog:
            if len(self._screens) >= _MAX_SCREENS:
                self._screens.clear()
            found = self._screens[key] = (
                catalog,
                self._screen(list(catalog), jurisdiction, data_class, required),
            )
        return found[1]

    def _screen(
        self, pool: Sequence[Deployment], jurisdiction: str, data_class: str, required: tuple[str, ...]
    ) -> Screen:
        passed: list[Passed] = []
        excluded: list[Exclusion] = []
        for deployment in pool:
            missing = [need for need in required if not deployment.offers(need)]
            if missing:
                excluded.append(
                    Exclusion(deployment=deployment.id, stage="capability", reason=lacking(missing))
                )
                continue
            verdict = self.verdict(jurisdiction, data_class, deployment)
            if not verdict.allowed:
                reason = "; ".join(verdict.reasons) or "denied by policy"
                excluded.append(
                    Exclusion(deployment=deployment.id, stage="residency", reason=reason, rule=verdict.rule)
                )
                continue
            limits = deployment.limits
            limited = limits.requests_per_minute is not None or limits.tokens_per_minute is not None
            passed.append(Passed(deployment, verdict, counting_key(deployment), limited))
        keys = tuple(dict.fromkeys(p.counting_key for p in passed))
        return Screen(tuple(passed), tuple(excluded), keys)


def lacking(missing: Sequence[str]) -> str:
    """Why a deployment cannot serve the request's requirements, in words."""
    named = [TEMPERATURE_REFUSED if need == "temperature" else need for need in missing]
    return f"lacks {', '.join(named)}"


TEMPERATURE_REFUSED = "temperature (the model refuses sampling parameters: leave temperature unset or 1)"
