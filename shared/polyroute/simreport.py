"""The report of a simulation, and the tally that builds it one replayed call at a time.

Every count is exact and every sum a Decimal, groups and changes are sorted by fixed keys, so the same
log and the same inputs give a byte-identical report. `simulate_change` returns it as is;
`polyroute policy simulate --json` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from polyroute.types import Money

Outcome = Literal["unchanged", "rerouted", "newly_refused", "newly_allowed"]
TOP = 10
ZERO = Decimal(0)


class Tally(BaseModel):
    calls: int = 0
    unchanged: int = 0
    rerouted: int = 0
    newly_refused: int = 0
    newly_allowed: int = 0
    spend_usd: Money = Field(default=ZERO, description="what the calls cost, as logged")
    simulated_spend_usd: Money = Field(
        default=ZERO, description="the same token usage on the proposed route at the proposed prices"
    )


class Summary(Tally):
    baseline_spend_usd: Money = Field(
        default=ZERO, description="the same usage on today's route at today's prices (separates drift)"
    )
    outcome_unknown: int = Field(default=0, description="calls whose intent is logged but not the outcome")
    replay_differs_from_log: int = Field(
        default=0,
        description="calls today's configuration would route differently from what the log shows (health, "
        "fallbacks or budgets at the time, or a policy or catalog changed since): not the proposal's doing",
    )
    assumed_facts: int = Field(
        default=0, description="older receipts replayed with default max_tokens/counts"
    )


class Inputs(BaseModel):
    """One side of the comparison."""

    policy_version: str
    catalog_digest: str
    prices_digest: str
    policy_file: str | None = None
    catalog_file: str | None = None
    prices_file: str | None = None


class LogRange(BaseModel):
    since: str | None = None
    until: str | None = None
    principal: str | None = None
    team: str | None = None
    head_seq: int | None = Field(default=None, description="the verified chain head the replay read up to")
    head_hash: str | None = None
    events_read: int = 0
    policy_versions: list[str] = Field(default_factory=list[str], description="versions the receipts cite")


class ClassRow(Tally):
    jurisdiction: str
    data_class: str


class KeyRow(Tally):
    key: str


class Change(BaseModel):
    """One kind of change: calls moved from one deployment to another, refused, or newly allowed."""

    kind: Outcome
    from_deployment: str | None
    to_deployment: str | None
    rule: str | None = Field(default=None, description="newly refused: the policy rule that refuses")
    reason: str | None = None
    calls: int = 0
    spend_usd: Money = ZERO
    simulated_spend_usd: Money = ZERO
    delta_usd: Money = ZERO


class SimulationReport(BaseModel):
    summary: Summary
    baseline: Inputs
    proposed: Inputs
    log: LogRange
    by_classification: list[ClassRow]
    by_principal: list[KeyRow]
    by_team: list[KeyRow]
    largest_by_count: list[Change] = Field(description=f"the {TOP} changes touching the most calls")
    largest_by_cost: list[Change] = Field(description=f"the {TOP} changes moving the most money")
    changes: list[Change] = Field(description="every change, most calls first")
    not_replayed: list[str] = Field(description="what the replay leaves out, and why")


@dataclass(slots=True)
class _Sum:
    """A Tally while it is being added up (a plain slotted object: it is bumped once per call)."""

    calls: int = 0
    unchanged: int = 0
    rerouted: int = 0
    newly_refused: int = 0
    newly_allowed: int = 0
    spend_usd: Decimal = ZERO
    simulated_spend_usd: Decimal = ZERO

    def add(self, outcome: Outcome, spend: Decimal, simulated: Decimal) -> None:
        self.calls += 1
        if outcome == "unchanged":
            self.unchanged += 1
        elif outcome == "rerouted":
            self.rerouted += 1
        elif outcome == "newly_refused":
            self.newly_refused += 1
        else:
            self.newly_allowed += 1
        self.spend_usd += spend
        self.simulated_spend_usd += simulated

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # pyright: ignore[reportAttributeAccessIssue]


ChangeKey = tuple[str | None, str | None, str | None, str | None]  # from, to, rule, reason


class Builder:
    """Adds up replayed calls into groups and changes."""

    def __init__(self) -> None:
        self.total = _Sum()
        self.classes: dict[tuple[str, str], _Sum] = {}
        self.principals: dict[str, _Sum] = {}
        self.teams: dict[str, _Sum] = {}
        self.changes: dict[tuple[str, str | None, str | None, str | None], Change] = {}

    def add(
        self, groups: tuple[tuple[str, str], str, Sequence[str]], outcome: Outcome, spend: Decimal,
        simulated: Decimal, change: ChangeKey,
    ) -> None:  # fmt: skip
        classification, principal, teams = groups
        self.total.add(outcome, spend, simulated)
        (self.classes.get(classification) or self.classes.setdefault(classification, _Sum())).add(
            outcome, spend, simulated
        )
        (self.principals.get(principal) or self.principals.setdefault(principal, _Sum())).add(
            outcome, spend, simulated
        )
        for team in teams:
            (self.teams.get(team) or self.teams.setdefault(team, _Sum())).add(outcome, spend, simulated)
        if outcome != "unchanged":
            self._change(outcome, spend, simulated, change)

    def _change(self, outcome: Outcome, spend: Decimal, simulated: Decimal, change: ChangeKey) -> None:
        key = (outcome, change[0], change[1], change[2])
        found = self.changes.get(key)
        if found is None:
            found = self.changes[key] = Change(
                kind=outcome, from_deployment=change[0], to_deployment=change[1], rule=change[2],
                reason=change[3],
            )  # fmt: skip
        found.calls += 1
        found.spend_usd += spend
        found.simulated_spend_usd += simulated
        found.delta_usd += simulated - spend

    def summary(self, **extra: Any) -> Summary:
        return Summary(**self.total.fields(), **extra)

    def rows(self) -> tuple[list[ClassRow], list[KeyRow], list[KeyRow]]:
        classes = [
            ClassRow(jurisdiction=j, data_class=c, **v.fields()) for (j, c), v in sorted(self.classes.items())
        ]
        principals = [KeyRow(key=k, **v.fields()) for k, v in sorted(self.principals.items())]
        teams = [KeyRow(key=k, **v.fields()) for k, v in sorted(self.teams.items())]
        return classes, principals, teams

    def ranked_changes(self) -> tuple[list[Change], list[Change], list[Change]]:
        """(largest by count, largest by cost, all by count); ties broken by the change's names."""

        def names(c: Change) -> tuple[str, str, str, str]:
            return (c.kind, c.from_deployment or "", c.to_deployment or "", c.rule or "")

        by_count = sorted(self.changes.values(), key=lambda c: (-c.calls, names(c)))
        by_cost = sorted(self.changes.values(), key=lambda c: (-abs(c.delta_usd), names(c)))
        return by_count[:TOP], by_cost[:TOP], by_count
