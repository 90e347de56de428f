"""A past routed call as its receipt recorded it: the facts its plan depended on, and what happened.

Read from the plain JSON of an audit event (an export line's `event`), not through `AuditEvent`:
a simulation reads every receipt of a period, and validating each into a model would cost more than
replaying it. Every field is read defensively — an old log may lack what newer receipts record
(`max_tokens`, `token_counts`, `task`), and then the documented defaults stand in, counted as assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from polyroute.planning import PlanFacts
from polyroute.ranking import STRATEGIES, Strategy
from polyroute.screen import NO_JURISDICTION
from polyroute.types import CompletionRequest

ROUTED_OUTCOMES = frozenset({"completion", "failure", "refusal"})
DEFAULT_MAX_TOKENS: int = CompletionRequest.model_fields["max_tokens"].default
_STATUS = {"completion": "completed", "failure": "failed", "refusal": "refused", "intent": "outcome unknown"}


class Counts(dict[str, int]):
    """Input tokens per tokenizer family as recorded; a family the receipt did not count (a deployment
    new to the catalog, or an old receipt) gets the count the plan's first candidate had."""

    def __init__(self, recorded: Mapping[str, int], fallback: int) -> None:
        super().__init__(recorded)
        self.fallback = fallback

    def __missing__(self, key: str) -> int:
        return self.fallback


class PastCall(NamedTuple):
    receipt_id: str
    seq: int
    time: str
    principal: str
    status: str  # completed | failed | refused | outcome unknown
    facts: PlanFacts
    deployment: str | None  # where it went (completed), planned first (failed, unknown), None (refused)
    usage: tuple[int, int, int, int] | None  # input, output, cache read, cache write
    cost_usd: Decimal | None
    policy_version: str | None
    assumed: bool  # facts missing from the receipt were taken from defaults


def slim(line: str) -> str:
    """An export line without what a replay never reads — a receipt's exclusions and all but its first
    candidate, two thirds of its text — so parsing it costs a third. Canonical JSON sorts keys, so in a
    receipt's `details` the exclusions end right before `"input_tokens"` and the candidates right before
    `"catalog_digest"`; a line without those markers is returned whole, and so is one whose cut would
    not parse (the caller falls back to the whole line)."""
    start = line.find(',"exclusions":[')
    end = line.find('],"input_tokens":', start) if start > 0 else -1
    if end > 0:
        line = line[:start] + line[end + 1 :]
    start = line.find('"candidates":[{')
    end = line.find('],"catalog_digest":', start) if start > 0 else -1
    first = line.find("}", start) if end > 0 else -1
    if 0 < first < end:
        line = line[: first + 1] + line[end:]
    return line


def past_call(event: Mapping[str, Any], default_strategy: Strategy) -> PastCall:
    """The call an outcome event (or an intent left without one) records."""
    details: Mapping[str, Any] = event.get("details") or {}
    strategy = details.get("strategy")
    max_tokens = details.get("max_tokens")
    recorded = details.get("token_counts")
    input_tokens = int(details.get("input_tokens") or 0)
    facts = PlanFacts(
        jurisdiction=event.get("jurisdiction") or NO_JURISDICTION,
        data_class=event.get("data_class") or "public",
        defaulted=bool(event.get("classification_defaulted")),
        strategy=strategy if strategy in STRATEGIES else default_strategy,
        required=_required(details.get("required")),
        pinned=details.get("pinned"),
        task=details.get("task"),
        max_tokens=int(max_tokens) if isinstance(max_tokens, int) and max_tokens > 0 else DEFAULT_MAX_TOKENS,
        tokens=Counts(recorded if isinstance(recorded, dict) else {}, input_tokens),  # pyright: ignore[reportUnknownArgumentType]
    )
    event_type = str(event.get("event_type"))
    return PastCall(
        receipt_id=str(event.get("intent_id") or event.get("id")),
        seq=int(event.get("seq") or 0),
        time=str(event.get("time")),
        principal=str(event.get("principal")),
        status=_STATUS.get(event_type, event_type),
        facts=facts,
        deployment=_where(event, details),
        usage=_usage(event.get("usage")) if event_type == "completion" else None,
        cost_usd=Decimal(str(event["cost_usd"])) if event.get("cost_usd") is not None else None,
        policy_version=event.get("policy_version"),
        assumed=not isinstance(max_tokens, int)
        or not isinstance(recorded, dict)
        or strategy not in STRATEGIES,
    )


def _required(raw: Any) -> tuple[str, ...]:
    if not raw:  # most calls require nothing
        return ()
    return tuple(sorted(str(c) for c in raw))  # pyright: ignore[reportUnknownVariableType]


def _where(event: Mapping[str, Any], details: Mapping[str, Any]) -> str | None:
    kind = event.get("event_type")
    if kind == "completion":
        return event.get("deployment")
    if kind == "refusal":
        return None
    candidates: list[Any] = details.get("candidates") or []
    first: Any = candidates[0] if candidates else None
    planned = _field(first, "deployment")
    return str(planned) if planned else event.get("deployment")


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def _usage(raw: Any) -> tuple[int, int, int, int] | None:
    if not isinstance(raw, dict):
        return None
    get: Any = raw.get  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return (
        int(get("input_tokens") or 0),
        int(get("output_tokens") or 0),
        int(get("cache_read_tokens") or 0),
        int(get("cache_write_tokens") or 0),
    )
