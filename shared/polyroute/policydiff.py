"""Rule-by-rule differences between two residency policies, in words and as data.

Rules are compared per (jurisdiction, data class): a rule only one side has is added or removed (a
removed rule means that data is denied everywhere: the policy fails closed); a rule both have may
allow other countries (compared after groups and regions are expanded, so `EEA` and its member
countries read the same), other requirements, or cite other sources. A policy is named by a file
path, `bundled` (the policy Polyroute ships) or `current` (the one the configuration loads).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from polyroute.locations import ANY
from polyroute.residency import Policy, load_policy

if TYPE_CHECKING:
    from polyroute.policy import Rule
    from polyroute.settings import Settings

Kind = Literal["added", "removed", "changed"]


class RuleChange(BaseModel):
    rule: str
    jurisdiction: str
    data_class: str
    kind: Kind
    allowed_before: list[str] | None = None
    allowed_after: list[str] | None = None
    countries_added: list[str] = Field(default_factory=list[str])
    countries_removed: list[str] = Field(default_factory=list[str])
    requirements_before: dict[str, Any] | None = None
    requirements_after: dict[str, Any] | None = None
    sources_changed: bool = False
    tighter: bool = Field(description="the new rule allows less (fewer places or stricter requirements)")
    summary: str


class NamedPolicy(BaseModel):
    name: str
    version: str
    rules: int


class PolicyDiff(BaseModel):
    old: NamedPolicy
    new: NamedPolicy
    unchanged: int = Field(description="rules identical on both sides")
    changes: list[RuleChange]


def named_policy(settings: Settings, name: str) -> Policy:
    """`bundled`, `current`, or a policy file read as the config's own would be (same mode)."""
    if name == "current":
        return load_policy(settings)
    return policy_file(settings, None if name == "bundled" else Path(name))


def policy_file(settings: Settings, path: Path | None) -> Policy:
    """The policy the configuration would load if its policy file were `path` (None: the bundled one)."""
    policy = settings.policy.model_copy(update={"file": path})
    return load_policy(settings.model_copy(update={"policy": policy}))


def diff_policies(old: Policy, new: Policy, *, old_name: str, new_name: str) -> PolicyDiff:
    before = {(r.jurisdiction, r.data_class): r for r in old.rules}
    after = {(r.jurisdiction, r.data_class): r for r in new.rules}
    changes: list[RuleChange] = []
    unchanged = 0
    for key in sorted(before.keys() | after.keys()):
        change = _compare(before.get(key), after.get(key))
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return PolicyDiff(
        old=NamedPolicy(name=old_name, version=old.version, rules=len(old.rules)),
        new=NamedPolicy(name=new_name, version=new.version, rules=len(new.rules)),
        unchanged=unchanged,
        changes=changes,
    )


def _compare(old: Rule | None, new: Rule | None) -> RuleChange | None:
    if old is None and new is not None:
        return RuleChange(
            rule=new.id, jurisdiction=new.jurisdiction, data_class=new.data_class, kind="added",
            allowed_after=list(new.allowed), requirements_after=_requirements(new), tighter=False,
            summary=f"{new.id}: new rule — allowed in {_places(new)}{_demands(new)}",
        )  # fmt: skip
    if new is None and old is not None:
        return RuleChange(
            rule=old.id, jurisdiction=old.jurisdiction, data_class=old.data_class, kind="removed",
            allowed_before=list(old.allowed), requirements_before=_requirements(old), tighter=True,
            summary=f"{old.id}: rule removed — this data is now denied everywhere (no rule: fail closed)",
        )  # fmt: skip
    assert old is not None and new is not None
    return _changed(old, new)


def _changed(old: Rule, new: Rule) -> RuleChange | None:
    added, removed = _country_changes(old.countries, new.countries)
    reqs_before, reqs_after = _requirements(old), _requirements(new)
    sources = old.citations != new.citations or old.note != new.note
    if not added and not removed and reqs_before == reqs_after and not sources:
        return None
    words: list[str] = []
    if added or removed:
        words.append(f"allowed {_places(old)} → {_places(new)}" + _delta(added, removed))
    if reqs_before != reqs_after:
        words.append(f"requirements {_text(reqs_before)} → {_text(reqs_after)}")
    if sources:
        words.append("sources or note changed")
    return RuleChange(
        rule=new.id, jurisdiction=new.jurisdiction, data_class=new.data_class, kind="changed",
        allowed_before=list(old.allowed), allowed_after=list(new.allowed), countries_added=added,
        countries_removed=removed, requirements_before=reqs_before, requirements_after=reqs_after,
        sources_changed=sources, tighter=_tighter(old, new),
        summary=f"{new.id}: " + "; ".join(words),
    )  # fmt: skip


def _tighter(old: Rule, new: Rule) -> bool:
    """The new rule allows a strict subset: fewer places and requirements no looser, or the same
    places and stricter requirements."""
    before, after = set(old.countries), set(new.countries)
    if ANY in before:
        places = "same" if ANY in after else "narrower"
    elif ANY in after:
        places = "wider"
    else:
        places = "same" if before == after else "narrower" if after < before else "other"
    merged = new.requirements.merged(old.requirements)
    if merged != new.requirements:  # the new requirements drop something the old ones demanded
        return False
    return places == "narrower" or (places == "same" and new.requirements != old.requirements)


def _country_changes(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[list[str], list[str]]:
    if (ANY in old) != (ANY in new):  # ANY is wider than any list of countries
        return ([ANY], [c for c in old if c != ANY]) if ANY in new else ([c for c in new if c != ANY], [ANY])
    return sorted(set(new) - set(old)), sorted(set(old) - set(new))


def _delta(added: list[str], removed: list[str]) -> str:
    parts = ([f"adds {', '.join(added)}"] if added else []) + (
        [f"drops {', '.join(removed)}"] if removed else []
    )
    return f" ({'; '.join(parts)})"


def _places(rule: Rule) -> str:
    return ", ".join(rule.allowed) or "nowhere"


def _requirements(rule: Rule) -> dict[str, Any]:
    return rule.requirements.model_dump(mode="json", exclude_defaults=True)


def _demands(rule: Rule) -> str:
    found = _requirements(rule)
    return f", requiring {_text(found)}" if found else ""


def _text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "none"
