"""SQL for event filters and usage summaries, over the columns generated from each event's body.

Only fixed column names are ever interpolated; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

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


ESTIMATE_VALUES = (
    "estimated_cost_usd",
    "details.estimated_input_tokens",
    "usage.input_tokens",
    "usage.cache_read_tokens",
    "usage.cache_write_tokens",
)
"""What a summary reads from each completion's body (no generated column holds them)."""


class Dialect(NamedTuple):
    """How a store reads `ESTIMATE_VALUES` in a summary: `parsed` reads a completion's body once into
    `v`, `value(i)` takes the i-th value from `v` as text, and `fence` stops the query planner from
    inlining `parsed` into every use (a subquery with OFFSET is not flattened, in either store)."""

    parsed: str
    value: Callable[[int], str]
    fence: str


def _sqlite_value(index: int) -> str:
    return f"(v ->> {index})"


def _postgres_value(index: int) -> str:
    return f"(v #>> '{{{ESTIMATE_VALUES[index].replace('.', ',')}}}')"


SQLITE = Dialect(
    f"json_extract(body, {', '.join(repr('$.' + path) for path in ESTIMATE_VALUES)})",  # one parse: an array
    _sqlite_value,
    " LIMIT -1 OFFSET 0",
)
POSTGRES = Dialect("polyroute_body(body)", _postgres_value, " OFFSET 0")
"""`polyroute_body` reads a body that is not JSON (a tampered row) as NULL, as the generated columns do
(a plain `body::jsonb` would fail the whole summary, and was measured no faster)."""


_COLUMNS = ", ".join(
    ("id", "time", "event_type", "principal", "provider", "deployment", "model", "cost_usd", "input_tokens",
     "output_tokens")
)  # fmt: skip
"""The columns a summary reads (every `GROUP_KEYS` column and what the aggregates and UNRESOLVED use)."""


def _estimated_rows(where: str, dialect: Dialect) -> str:
    """The filtered events with `est_usd` (text), `est_in` and `whole_in` (input tokens estimated for
    the answering deployment, and the whole input reported) read from each completion's body once; both
    levels fenced, so the parsed body is neither re-parsed per use nor carried into the grouping sort."""
    real = "DOUBLE PRECISION"
    whole = " + ".join(f"COALESCE(CAST({dialect.value(i)} AS {real}), 0)" for i in (2, 3, 4))
    parsed = (
        f"SELECT {_COLUMNS}, CASE WHEN event_type = 'completion' THEN {dialect.parsed} END AS v "
        f"FROM events {where}{dialect.fence}"
    )
    return (
        f"(SELECT {_COLUMNS}, {dialect.value(0)} AS est_usd, CAST({dialect.value(1)} AS {real}) AS est_in, "
        f"CASE WHEN {dialect.value(2)} IS NOT NULL THEN {whole} END AS whole_in "
        f"FROM ({parsed}) AS events{dialect.fence}) AS events"
    )


def _estimate_columns() -> str:
    """Estimate against actual, over the completions that carry both: estimated USD, actual USD, the
    count of those, the count, sum and absolute sum of (actual − estimate) / estimate where the estimate
    is positive; then the same for the input tokens (receipts record `estimated_input_tokens`)."""
    real = "DOUBLE PRECISION"
    paid = "event_type = 'completion' AND cost_usd IS NOT NULL AND est_usd IS NOT NULL"
    relative = f"(CAST(cost_usd AS {real}) / CAST(est_usd AS {real}) - 1)"
    positive = f"{paid} AND CAST(est_usd AS {real}) > 0"
    counted = "est_in > 0 AND whole_in IS NOT NULL"
    token_error = "(whole_in / est_in - 1)"
    return (
        f"decimal_sum(CASE WHEN {paid} THEN est_usd END), decimal_sum(CASE WHEN {paid} THEN cost_usd END), "
        f"SUM(CASE WHEN {paid} THEN 1 ELSE 0 END), SUM(CASE WHEN {positive} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {positive} THEN {relative} END), SUM(CASE WHEN {positive} THEN ABS({relative}) END), "
        f"SUM(CASE WHEN {counted} THEN 1 ELSE 0 END), SUM(CASE WHEN {counted} THEN est_in END), "
        f"SUM(CASE WHEN {counted} THEN whole_in END), SUM(CASE WHEN {counted} THEN {token_error} END), "
        f"SUM(CASE WHEN {counted} THEN ABS({token_error}) END)"
    )


def summary_sql(group_by: GroupBy, filters: EventQuery, dialect: Dialect = SQLITE) -> tuple[str, list[Any]]:
    """Events (each routed call once: its outcome, not its intent), tokens and exact cost per group, the
    calls whose outcome is unknown (counted under the deployment their intent planned first), and the
    estimate error of the completions (`_estimate_columns`, read from each completion's body).

    Plain SQL both stores run (PostgreSQL has no boolean SUM nor output names in HAVING); each store
    defines the exact `decimal_sum` aggregate."""
    key = GROUP_KEYS.get(group_by)
    if key is None:
        raise PolyrouteError(f"cannot group by {group_by!r}; use one of {', '.join(GROUP_KEYS)}")
    where, params = where_clause(filters)
    sql = (
        f"SELECT * FROM (SELECT {key} AS k, SUM(CASE WHEN event_type = 'intent' THEN 0 ELSE 1 END) AS n, "
        "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), decimal_sum(cost_usd), "
        f"SUM(CASE WHEN {UNRESOLVED} THEN 1 ELSE 0 END) AS unknown, {_estimate_columns()} "
        f"FROM {_estimated_rows(where, dialect)} GROUP BY k) AS groups WHERE n > 0 OR unknown > 0 ORDER BY k"
    )
    return sql, params


def summary_row(row: Sequence[Any]) -> UsageSummary:
    """One `summary_sql` row as a `UsageSummary` (the means divide the sums by their counts)."""
    key, events, tin, tout, cost, unknown, est, paid, pairs, priced, rel, rel_abs = row[:12]
    counted, tokens, whole, tok_rel, tok_abs = row[12:]

    def mean(total: Any, count: Any) -> float | None:
        return round(float(total) / count, 6) if count and total is not None else None

    return UsageSummary(
        key=key, events=events, input_tokens=tin, output_tokens=tout, cost_usd=Decimal(cost),
        outcome_unknown=unknown, estimated_calls=pairs or 0, estimated_cost_usd=Decimal(est),
        estimate_error_usd=Decimal(paid) - Decimal(est), estimate_error_mean=mean(rel, priced),
        estimate_error_mean_abs=mean(rel_abs, priced), token_estimated_calls=counted or 0,
        estimated_input_tokens=round(tokens or 0), actual_input_tokens=round(whole or 0),
        input_token_error_mean=mean(tok_rel, counted), input_token_error_mean_abs=mean(tok_abs, counted),
    )  # fmt: skip


def summaries(rows: Iterable[Sequence[Any]]) -> list[UsageSummary]:
    """The rows of `summary_sql` (either database) as summaries."""
    return [summary_row(row) for row in rows]
