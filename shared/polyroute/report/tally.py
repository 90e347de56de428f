"""One pass over the period's events, keeping only counters keyed by group.

Events arrive as the export's parsed JSON objects (no model validation per event: a report over a
million events should cost a read of the log, not a million pydantic models). Memory grows with the
number of distinct groups and with the intents still waiting for their outcome, never with the log.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from polyroute.report.model import MismatchRow, UnknownRow

OUTCOMES = ("completion", "failure", "refusal")
NO_TEAM = "(no team)"


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if isinstance(value, int | float | str) else Decimal(0)


def _where(event: dict[str, Any]) -> str:
    """The processing country: what the provider reported, else what the deployment declares."""
    geo = event.get("inference_geo")
    if isinstance(geo, str) and geo:
        return geo
    details: dict[str, Any] = event.get("details") or {}
    declared: Any = details.get("processing_locations") or []
    return ", ".join(str(p) for p in declared) or "unknown"  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


def _refusal_kind(event: dict[str, Any]) -> str:
    details: dict[str, Any] = event.get("details") or {}
    error = details.get("error")
    if isinstance(error, str) and error:
        return error
    reasons: list[Any] = event.get("reasons") or ["(no reason recorded)"]
    return str(reasons[0])[:80]


class Tally:
    """Counters for every table of the report; `add` each event of the period, `resolve` later outcomes."""

    def __init__(self, teams_of: Callable[[str], list[str]], bucket: Callable[[datetime], str]) -> None:
        self.teams_of = teams_of
        self.bucket = bucket
        self.events = 0
        self.kinds: Counter[str] = Counter()
        self.processing: Counter[tuple[str, str, str, str]] = Counter()
        self.rules: Counter[tuple[str, str]] = Counter()
        self.rules_refused: Counter[tuple[str, str]] = Counter()
        self.principal_calls: Counter[str] = Counter()
        self.principal_refusals: Counter[str] = Counter()
        self.principal_cost: defaultdict[str, Decimal] = defaultdict(Decimal)
        self.refusals: Counter[str] = Counter()
        self.refusal_example: dict[str, str] = {}
        self.mismatches: list[MismatchRow] = []
        self.spend: dict[tuple[str, str, str], list[Any]] = {}
        self.over_time: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.open_intents: dict[str, UnknownRow] = {}
        self.cost, self.estimated = Decimal(0), Decimal(0)

    def add(self, event: dict[str, Any], time: datetime) -> None:
        self.events += 1
        kind = str(event.get("event_type"))
        self.kinds[kind] += 1
        if kind == "intent":
            self._intent(event, time)
        elif kind in OUTCOMES:
            self.resolve(event)
            self._outcome(kind, event, time)

    def resolve(self, event: dict[str, Any]) -> None:
        """An outcome (in the period or after it) closes its intent."""
        intent_id = event.get("intent_id")
        if isinstance(intent_id, str):
            self.open_intents.pop(intent_id, None)

    def _intent(self, event: dict[str, Any], time: datetime) -> None:
        details: dict[str, Any] = event.get("details") or {}
        candidates: list[Any] = details.get("candidates") or []
        planned = [str(c.get("deployment")) for c in candidates if isinstance(c, dict)]  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        self.open_intents[str(event["id"])] = UnknownRow(
            receipt_id=str(event["id"]), time=time, principal=str(event.get("principal")), deployments=planned
        )

    def _outcome(self, kind: str, event: dict[str, Any], time: datetime) -> None:
        principal = str(event.get("principal"))
        rule = (
            str(event.get("policy_version") or "unknown"),
            f"{event.get('jurisdiction') or '?'}/{event.get('data_class') or '?'}",
        )
        self.rules[rule] += 1
        self.principal_calls[principal] += 1
        if kind == "refusal":
            self.rules_refused[rule] += 1
            self.principal_refusals[principal] += 1
            reason = _refusal_kind(event)
            self.refusals[reason] += 1
            reasons: list[Any] = event.get("reasons") or [""]
            self.refusal_example.setdefault(reason, str(reasons[0]))
        if kind == "completion":
            self._completion(event, time, principal)

    def _completion(self, event: dict[str, Any], time: datetime, principal: str) -> None:
        provider, model = str(event.get("provider")), str(event.get("model"))
        jurisdiction, data_class = str(event.get("jurisdiction")), str(event.get("data_class"))
        self.processing[(jurisdiction, data_class, _where(event), provider)] += 1
        cost, estimate = _money(event.get("cost_usd")), _money(event.get("estimated_cost_usd"))
        self.principal_cost[principal] += cost
        self.cost += cost
        self.estimated += estimate
        self.over_time[(self.bucket(time), provider)] += cost
        usage: dict[str, Any] = event.get("usage") or {}
        for team in self.teams_of(principal) or [NO_TEAM]:
            row = self.spend.setdefault((provider, model, team), [0, 0, 0, Decimal(0), Decimal(0)])
            row[0] += 1
            row[1] += int(usage.get("input_tokens") or 0)
            row[2] += int(usage.get("output_tokens") or 0)
            row[3] += estimate
            row[4] += cost
        details: dict[str, Any] = event.get("details") or {}
        if details.get("residency_mismatch"):
            self.mismatches.append(
                MismatchRow(
                    receipt_id=str(event.get("intent_id") or event["id"]),
                    time=time,
                    deployment=str(event.get("deployment")),
                    inference_geo=event.get("inference_geo"),
                    jurisdiction=event.get("jurisdiction"),
                    data_class=event.get("data_class"),
                )
            )
