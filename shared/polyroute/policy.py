"""Residency rules as data: the `Rule` and `Requirements` models and the reader of `[[rules]]` tables.

Kept apart from the engine (`residency.py`) so that the engine stays set arithmetic and this module
holds every way a policy file can be wrong, each turned into a one-line ConfigError naming the file
and the rule. Format and semantics: docs/policy.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from polyroute import locations
from polyroute.catalog import Deployment, ProviderKind
from polyroute.errors import ConfigError

DataClass = Literal[
    "public",
    "internal",
    "confidential",
    "personal",
    "sensitive_personal",
    "financial_regulated",
    "health",
    "government_restricted",
    "government_secret",
]
DATA_CLASSES: tuple[str, ...] = get_args(DataClass)
ALIASES: dict[str, str] = {"EEA": "EU", "UK": "GB"}
_TOP_LEVEL = {"rules", "description"}


def canonical_jurisdiction(name: str) -> str:
    """`eea` → `EU`, `uk` → `GB`, `ae-difc` → `AE-DIFC`."""
    upper = name.strip().upper()
    return ALIASES.get(upper, upper)


class Requirements(BaseModel):
    """What a deployment must also be known to satisfy; an unknown value fails a rule requiring it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    trains_on_inputs: Literal[False] | None = Field(
        default=None, description="false: must not train on inputs"
    )
    retention_days_max: int | None = Field(default=None, ge=0, description="0 requires zero data retention")
    providers_allow: tuple[ProviderKind, ...] | None = None
    providers_deny: tuple[ProviderKind, ...] = ()

    def failures(self, deployment: Deployment) -> list[str]:
        """One sentence per requirement the deployment fails or cannot be shown to meet."""
        name = deployment.id
        found: list[str] = []
        if self.trains_on_inputs is False and deployment.trains_on_inputs is not False:
            found.append(
                f"{name}: trains on inputs, which this rule forbids"
                if deployment.trains_on_inputs
                else f"{name}: whether it trains on inputs is unknown; this rule requires that it does not"
            )
        limit, days = self.retention_days_max, deployment.retention_days
        if limit is not None and (days is None or days > limit):
            found.append(
                f"{name}: its data retention is unknown, and this rule allows at most {limit} days"
                if days is None
                else f"{name}: retains data for {days} days; this rule allows at most {limit}"
            )
        if self.providers_allow is not None and deployment.provider not in self.providers_allow:
            found.append(
                f"{name}: provider {deployment.provider} is not among the allowed providers "
                f"({', '.join(self.providers_allow) or 'none'})"
            )
        if deployment.provider in self.providers_deny:
            found.append(f"{name}: provider {deployment.provider} is denied by this rule")
        return found

    def summary(self) -> str:
        """' and …' naming the requirements met, for the sentence of an allowed verdict."""
        parts: list[str] = []
        if self.trains_on_inputs is False:
            parts.append("does not train on inputs")
        if self.retention_days_max is not None:
            parts.append(f"keeps data at most {self.retention_days_max} days")
        if self.providers_allow is not None or self.providers_deny:
            parts.append("is from a permitted provider")
        return f", and {', '.join(parts)}" if parts else ""

    def merged(self, other: Requirements) -> Requirements:
        """Both sets at once: the stricter value of each."""
        limits = [x for x in (self.retention_days_max, other.retention_days_max) if x is not None]
        allows = [set(x) for x in (self.providers_allow, other.providers_allow) if x is not None]
        return Requirements(
            trains_on_inputs=False if False in (self.trains_on_inputs, other.trains_on_inputs) else None,
            retention_days_max=min(limits) if limits else None,
            providers_allow=tuple(sorted(set[ProviderKind].intersection(*allows))) if allows else None,
            providers_deny=tuple(sorted({*self.providers_deny, *other.providers_deny})),
        )


class Rule(BaseModel):
    """One (jurisdiction, data class) → allowed locations, with requirements and citations."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(description="e.g. 'SA/government_secret'")
    jurisdiction: str
    data_class: str
    allowed: tuple[str, ...] = Field(description="locations as written: countries, groups, regions or ANY")
    countries: tuple[str, ...] = Field(description="the allowed locations expanded to countries, or ('ANY',)")
    requirements: Requirements = Field(default_factory=Requirements)
    citations: tuple[str, ...] = ()
    note: str | None = None
    origin: Literal["default", "user"] = "default"


class _Table(BaseModel):
    """One `[[rules]]` table as written."""

    model_config = ConfigDict(extra="forbid")
    jurisdiction: str = Field(pattern=r"^[A-Za-z]{2}(-[A-Za-z0-9]+)?$")
    data_classes: Annotated[list[DataClass], Field(min_length=1)] | Literal["*"]
    allowed: list[str] | None = None
    requirements: Requirements = Field(default_factory=Requirements)
    source: str | list[str] = Field(default_factory=list[str])
    note: str | None = None

    @property
    def explicit(self) -> bool:
        return self.data_classes != "*"

    def classes(self) -> tuple[str, ...]:
        return DATA_CLASSES if self.data_classes == "*" else tuple(dict.fromkeys(self.data_classes))


def _parse(raw: Any, where: str) -> _Table:
    try:
        return _Table.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        # pydantic names union branches in the path (`data_classes.list[literal[...]].0`): drop them
        field = ".".join(str(part) for part in first["loc"] if "[" not in str(part))
        raise ConfigError(
            f"{where}: {field}: {first['msg']}" if field else f"{where}: {first['msg']}"
        ) from None


def _countries(allowed: list[str], where: str) -> tuple[str, ...]:
    found, unknown = locations.expand(allowed)
    if unknown:
        raise ConfigError(
            f"{where}: allowed: unknown location(s) {', '.join(unknown)} (use ISO countries like SA, "
            "groups like EEA+ADEQUATE, regions like aws:me-central-1, or ANY)"
        )
    return (locations.ANY,) if locations.ANY in found else tuple(sorted(found))


def _rule(
    table: _Table,
    data_class: str,
    *,
    where: str,
    inherited: Mapping[tuple[str, str], Rule],
    origin: Literal["default", "user"],
) -> Rule:
    jurisdiction = canonical_jurisdiction(table.jurisdiction)
    sources = (table.source,) if isinstance(table.source, str) else tuple(table.source)
    if table.allowed is None:
        base = inherited.get((jurisdiction, data_class))
        if base is None:
            raise ConfigError(
                f"{where}: no `allowed` locations, and no {jurisdiction}/{data_class} rule to inherit "
                "them from (in replace mode every rule needs `allowed`)"
            )
        return base.model_copy(
            update={
                "requirements": base.requirements.merged(table.requirements),
                "citations": base.citations + sources,
                "note": table.note or base.note,
                "origin": origin,
            }
        )
    return Rule(
        id=f"{jurisdiction}/{data_class}",
        jurisdiction=jurisdiction,
        data_class=data_class,
        allowed=tuple(table.allowed),
        countries=_countries(table.allowed, where),
        requirements=table.requirements,
        citations=sources,
        note=table.note,
        origin=origin,
    )


def read_rules(
    data: Mapping[str, Any],
    *,
    where: str,
    inherited: Mapping[tuple[str, str], Rule],
    origin: Literal["default", "user"],
) -> dict[tuple[str, str], Rule]:
    """The rules of one policy file by (jurisdiction, data class).

    A rule naming a data class beats a `"*"` rule of the same file; two rules naming the same pair
    are an error (the file would be ambiguous). `inherited` lends `allowed` to rules that omit it.
    """
    extra = sorted(set(data) - _TOP_LEVEL)
    if extra:
        raise ConfigError(f"{where}: unknown top-level key(s) {', '.join(extra)} (expected [[rules]] tables)")
    tables: object = data.get("rules", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{where}: `rules` must be an array of tables ([[rules]])")
    parsed = [
        (f"{where}: rule #{number}", _parse(raw, f"{where}: rule #{number}"))
        for number, raw in enumerate(cast(list[object], tables), start=1)
    ]
    rules: dict[tuple[str, str], Rule] = {}
    explicit: dict[tuple[str, str], bool] = {}
    for label, table in sorted(parsed, key=lambda item: item[1].explicit):
        for data_class in table.classes():
            key = (canonical_jurisdiction(table.jurisdiction), data_class)
            if explicit.get(key) == table.explicit:
                raise ConfigError(f"{label}: a second rule for {key[0]}/{data_class} in the same file")
            explicit[key] = table.explicit
            rules[key] = _rule(table, data_class, where=label, inherited=inherited, origin=origin)
    return rules
