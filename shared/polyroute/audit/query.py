"""SQL for event filters and usage summaries, over the columns generated from each event's body.

Only fixed column names are ever interpolated; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polyroute.audit.event import EventQuery, GroupBy, UsageSummary, format_time
from polyroute.errors import PolyrouteError

GROUP_KEYS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "principal": "principal",
    "deployment": "deployment",
    "day": "substr(time, 1, 10)",
}


UNRESOLVED = (
    "event_type = 'intent' AND NOT EXISTS "
    "(SELECT 1 FROM events AS outcome WHERE outcome.intent_id = events.id)"
)
"""An intent no outcome names: the process died mid-call (or the call is still running)."""


def _stamp(moment: datetime) -> str:
    return format_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def where_clause(query: EventQuery) -> tuple[str, list[Any]]:
    """`WHERE …` (or "") and its parameters for every filter the query sets."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.since is not None:
        clauses.append("time >= ?")
        params.append(_stamp(query.since))
    if query.until is not None:
        clauses.append("time < ?")
        params.append(_stamp(query.until))
    for column in ("principal", "provider", "deployment", "model", "event_type", "intent_id"):
        value = getattr(query, column)
        if value == "event" and column == "event_type":  # `record_event`'s type, `external` in older logs
            clauses.append("event_type IN ('event', 'external')")
        elif value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.before_seq is not None:
        clauses.append("seq < ?")
        params.append(query.before_seq)
    if query.allowed is not None:
        clauses.append("allowed = ?")
        params.append(1 if query.allowed else 0)
    if query.outcome_unknown:
        clauses.append(UNRESOLVED)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def summary_sql(group_by: GroupBy, filters: EventQuery) -> tuple[str, list[Any]]:
    """Events (each routed call once: its outcome, not its intent), tokens and exact cost per group, and
    the calls whose outcome is unknown (counted under the deployment their intent planned first).

    Plain SQL both stores run (PostgreSQL has no boolean SUM nor output names in HAVING); each store
    defines the exact `decimal_sum` aggregate."""
    key = GROUP_KEYS.get(group_by)
    if key is None:
        raise PolyrouteError(f"cannot group by {group_by!r}; use one of {', '.join(GROUP_KEYS)}")
    where, params = where_clause(filters)
    sql = (
        f"SELECT * FROM (SELECT {key} AS k, SUM(CASE WHEN event_type = 'intent' THEN 0 ELSE 1 END) AS n, "
        "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), decimal_sum(cost_usd), "
        f"SUM(CASE WHEN {UNRESOLVED} THEN 1 ELSE 0 END) AS unknown "
        f"FROM events {where} GROUP BY k) AS groups WHERE n > 0 OR unknown > 0 ORDER BY k"
    )
    return sql, params


def summaries(rows: Iterable[Any]) -> list[UsageSummary]:
    """The rows of `summary_sql` (either database) as summaries."""
    return [
        UsageSummary(
            key=key,
            events=events,
            input_tokens=tin,
            output_tokens=tout,
            cost_usd=Decimal(cost),
            outcome_unknown=unknown,
        )  # fmt: skip
        for key, events, tin, tout, cost, unknown in rows
    ]
