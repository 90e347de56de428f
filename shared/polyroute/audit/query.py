"""SQL for event filters and usage summaries, over the columns generated from each event's body.

Only fixed column names are ever interpolated; every value is a bound parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from polyroute.audit.event import EventQuery, GroupBy, format_time
from polyroute.errors import PolyrouteError

GROUP_KEYS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "principal": "principal",
    "deployment": "deployment",
    "day": "substr(time, 1, 10)",
}


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
    for column in ("principal", "provider", "deployment", "model", "event_type"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.allowed is not None:
        clauses.append("allowed = ?")
        params.append(1 if query.allowed else 0)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def summary_sql(group_by: GroupBy, filters: EventQuery) -> tuple[str, list[Any]]:
    """Events, tokens and exact cost per group, groups in key order."""
    key = GROUP_KEYS.get(group_by)
    if key is None:
        raise PolyrouteError(f"cannot group by {group_by!r}; use one of {', '.join(GROUP_KEYS)}")
    where, params = where_clause(filters)
    sql = (
        f"SELECT {key} AS k, COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
        f"decimal_sum(cost_usd) FROM events {where} GROUP BY k ORDER BY k"
    )
    return sql, params
