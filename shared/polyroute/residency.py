"""Residency policy engine: (jurisdiction, data class, deployment) → Verdict, failing closed.

Rules come from the bundled `data/policy.toml`, extended or replaced by the user's policy file (see
docs/policy.md). A rule names where data of a class may be processed and stored, and may add
requirements on the deployment. Every rule is compiled once to a frozenset of countries so that a
verdict is set arithmetic: allowed only if every processing and storage location is inside the set;
ANY is never inside a finite set; anything unknown is a denial that names what was unknown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from polyroute import locations
from polyroute.catalog import Deployment
from polyroute.errors import PolyrouteError
from polyroute.policy import (
    ALIASES,
    DATA_CLASSES,
    DataClass,
    Requirements,
    Rule,
    canonical_jurisdiction,
    read_rules,
)
from polyroute.settings import Settings, read_toml

_LABELS: dict[str, str] = {
    locations.ANY: "anywhere",
    "EEA+ADEQUATE": "EEA + EU adequacy countries",
    "GB+ADEQUATE": "GB, EEA + UK adequacy countries",
    "DIFC+ADEQUATE": "inside the DIFC, or a DIFC-adequate jurisdiction",
    "ADGM+ADEQUATE": "inside the ADGM, or an ADGM-adequate jurisdiction",
}

__all__ = [
    "ALIASES",
    "DATA_CLASSES",
    "DataClass",
    "Policy",
    "PolicyExplanation",
    "Requirements",
    "Rule",
    "Verdict",
    "canonical_jurisdiction",
    "load_policy",
]


class Verdict(BaseModel):
    """Whether one deployment may take one (jurisdiction, data class), and why, in sentences."""

    allowed: bool
    rule: str | None = Field(
        description="the rule that decided, e.g. 'SA/government_secret'; None if none applied"
    )
    reasons: list[str]
    processing_locations: list[str]
    storage_locations: list[str] = Field(default_factory=list[str])
    deployment: str
    jurisdiction: str
    data_class: str
    citations: list[str] = Field(default_factory=list[str])
    allowed_locations: list[str] = Field(
        default_factory=list[str], description="the rule's locations as written"
    )
    note: str | None = None
    policy_version: str | None = None


class PolicyExplanation(BaseModel):
    """The rules in force (all, or one jurisdiction's), for people and for `explain_policy`."""

    model_config = ConfigDict(frozen=True)
    version: str
    jurisdictions: list[str]
    aliases: dict[str, str]
    data_classes: list[str]
    rules: list[Rule]


def _label(allowed: tuple[str, ...]) -> str:
    return ", ".join(_LABELS.get(name, name) for name in allowed) if allowed else "nowhere"


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule ready for verdicts: its countries as a frozenset and its phrases precomputed."""

    rule: Rule
    countries: frozenset[str]
    anywhere: bool
    subject: str
    requires: bool
    met: str

    @classmethod
    def of(cls, rule: Rule) -> _Compiled:
        subject = f"{rule.jurisdiction} {rule.data_class} data ({_label(rule.allowed)})"
        requires = rule.requirements != Requirements()
        met = rule.requirements.summary()
        return cls(rule, frozenset(rule.countries), locations.ANY in rule.countries, subject, requires, met)

    def outside(self, deployment_id: str, verb: str, where: tuple[str, ...]) -> list[str]:
        """Sentences for each way `where` escapes the allowed set (empty when it does not)."""
        if self.anywhere:
            return []
        found, unknown = locations.expand(where)
        if unknown or not where:
            named = ", ".join(unknown) or "no location at all"
            return [
                f"{deployment_id}: may {verb} in {named}, which is unknown; "
                "unknown locations are never allowed"
            ]
        if locations.ANY in found:
            return [
                f"{deployment_id}: may {verb} anywhere (no geographic guarantee), "
                f"which is never within the allowed locations for {self.subject}"
            ]
        escaped = locations.outside(found, self.countries)  # a zone is inside its country
        if not escaped:
            return []
        names = ", ".join(sorted(escaped))
        verb_is = "is" if len(escaped) == 1 else "are"
        return [
            f"{deployment_id}: may {verb} in {names}, "
            f"which {verb_is} outside the allowed locations for {self.subject}"
        ]

    def approval(self, deployment: Deployment) -> str:
        """The one sentence of an allowed verdict."""
        met = self.met
        if self.anywhere:
            rule = self.rule
            return (
                f"{deployment.id}: {rule.jurisdiction} {rule.data_class} data may be processed anywhere{met}"
            )
        where = ", ".join(sorted({*deployment.processing_locations, *deployment.storage_locations}))
        return (
            f"{deployment.id}: processes and stores only in {where}, "
            f"within the allowed locations for {self.subject}{met}"
        )

    def judge(self, deployment: Deployment, *, version: str) -> Verdict:
        reasons = self.outside(deployment.id, "process", deployment.processing_locations)
        reasons += self.outside(deployment.id, "store data", deployment.storage_locations)
        if self.requires:
            reasons += self.rule.requirements.failures(deployment)
        allowed = not reasons
        if allowed:
            reasons = [self.approval(deployment)]
        return Verdict(
            allowed=allowed,
            rule=self.rule.id,
            reasons=reasons,
            processing_locations=list(deployment.processing_locations),
            storage_locations=list(deployment.storage_locations),
            deployment=deployment.id,
            jurisdiction=self.rule.jurisdiction,
            data_class=self.rule.data_class,
            citations=list(self.rule.citations),
            allowed_locations=list(self.rule.allowed),
            note=self.rule.note,
            policy_version=version,
        )


class Policy:
    """A loaded rule set; `version` is a hash of its canonical form (receipts cite it)."""

    version: str

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda rule: rule.id))
        self._index = {(rule.jurisdiction, rule.data_class): _Compiled.of(rule) for rule in self.rules}
        self.jurisdictions: tuple[str, ...] = tuple(sorted({rule.jurisdiction for rule in self.rules}))
        canonical = json.dumps(
            [rule.model_dump(mode="json") for rule in self.rules],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self.version = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    def rule_for(self, jurisdiction: str, data_class: str) -> Rule | None:
        compiled = self._index.get((canonical_jurisdiction(jurisdiction), data_class))
        return compiled.rule if compiled else None

    def check(
        self, jurisdiction: str, data_class: str, deployment: Deployment | None, *, deployment_id: str
    ) -> Verdict:
        """The verdict for one deployment; `deployment` is None when the catalog did not know the id."""
        compiled = self._index.get((jurisdiction, data_class))  # fast path: already canonical
        key = jurisdiction if compiled else canonical_jurisdiction(jurisdiction)
        compiled = compiled or self._index.get((key, data_class))
        if compiled is None or deployment is None:
            return self._unknown(key, data_class, deployment, deployment_id)
        return compiled.judge(deployment, version=self.version)

    def check_all(
        self, jurisdiction: str, data_class: str, deployments: Iterable[Deployment]
    ) -> list[Verdict]:
        """One verdict per deployment (for `list_allowed_deployments`)."""
        return [self.check(jurisdiction, data_class, d, deployment_id=d.id) for d in deployments]

    def explain(self, jurisdiction: str | None = None) -> PolicyExplanation:
        """The rules in force, all or one jurisdiction's (an unknown one is an error listing the known)."""
        rules = list(self.rules)
        if jurisdiction is not None:
            key = canonical_jurisdiction(jurisdiction)
            if key not in self.jurisdictions:
                raise PolyrouteError(
                    f"unknown jurisdiction {jurisdiction!r}; known: {', '.join(self.jurisdictions)}"
                )
            rules = [rule for rule in rules if rule.jurisdiction == key]
        return PolicyExplanation(
            version=self.version,
            jurisdictions=list(self.jurisdictions),
            aliases=dict(ALIASES),
            data_classes=list(DATA_CLASSES),
            rules=rules,
        )

    def _unknown(
        self, key: str, data_class: str, deployment: Deployment | None, deployment_id: str
    ) -> Verdict:
        """A denial naming everything that was unknown (never a crash, never an allow)."""
        reasons: list[str] = []
        if key not in self.jurisdictions:
            reasons.append(
                f"unknown jurisdiction {key!r}: the policy has rules for {', '.join(self.jurisdictions)}"
            )
        if data_class not in DATA_CLASSES:
            reasons.append(f"unknown data class {data_class!r}: expected one of {', '.join(DATA_CLASSES)}")
        elif key in self.jurisdictions and (key, data_class) not in self._index:
            reasons.append(f"the policy has no rule for {key} {data_class} data, so it is denied everywhere")
        if deployment is None:
            reasons.append(
                f"unknown deployment {deployment_id!r}: not in the catalog, so where it "
                "processes data is unknown"
            )
        compiled = self._index.get((key, data_class))
        return Verdict(
            allowed=False,
            rule=compiled.rule.id if compiled else None,
            reasons=reasons,
            processing_locations=list(deployment.processing_locations) if deployment else [],
            storage_locations=list(deployment.storage_locations) if deployment else [],
            deployment=deployment_id,
            jurisdiction=key,
            data_class=data_class,
            citations=list(compiled.rule.citations) if compiled else [],
            policy_version=self.version,
        )


@dataclass(frozen=True, slots=True)
class _Source:
    where: str
    data: Mapping[str, Any]


def _bundled() -> _Source:
    import tomllib

    text = resources.files("polyroute").joinpath("data/policy.toml").read_text(encoding="utf-8")
    return _Source("bundled policy", tomllib.loads(text))


def policy_from(tables: Mapping[str, Any], *, where: str, base: Policy | None = None) -> Policy:
    """A policy from a parsed policy file; with `base`, the file extends it (its rules win per pair)."""
    inherited = {(rule.jurisdiction, rule.data_class): rule for rule in base.rules} if base else {}
    rules = read_rules(tables, where=where, inherited=inherited, origin="default" if base is None else "user")
    return Policy({**inherited, **rules}.values())


def load_policy(settings: Settings) -> Policy:
    """The bundled default policy, extended or replaced by `settings.policy.file` (mode extend|replace)."""
    bundled = _bundled()
    default = policy_from(bundled.data, where=bundled.where)
    path = settings.policy.file
    if path is None:
        return default
    path = path.expanduser()
    data = read_toml(path, what="policy file")
    if settings.policy.mode == "replace":
        return policy_from(data, where=f"policy file {path}", base=Policy(()))
    return policy_from(data, where=f"policy file {path}", base=default)
