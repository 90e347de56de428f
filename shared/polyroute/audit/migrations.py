"""SQLite schema migrations: an ordered list of functions, applied once each, tracked by user_version;
and `connect`, which opens a store file with its pragmas and brings its schema up to date.

The canonical body is the only stored truth of an event; every queryable column is generated from it
by SQLite, so a filter or a summary can never disagree with what the hash covers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from polyroute.errors import ConfigError
from polyroute.sqlitefile import use_wal

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(function: Migration) -> Migration:
    MIGRATIONS.append(function)
    return function


def _generated(name: str, path: str, kind: str = "TEXT") -> str:
    return f"{name} {kind} GENERATED ALWAYS AS (body ->> '{path}') VIRTUAL"


@migration
def create_events_heads_content(db: sqlite3.Connection) -> None:
    columns = ",\n  ".join(
        [
            _generated("id", "$.id"),
            _generated("time", "$.time"),
            _generated("event_type", "$.event_type"),
            _generated("principal", "$.principal"),
            _generated("provider", "$.provider"),
            _generated("deployment", "$.deployment"),
            _generated("model", "$.model"),
            _generated("allowed", "$.allowed", "INTEGER"),
            _generated("cost_usd", "$.cost_usd"),
            _generated("input_tokens", "$.usage.input_tokens", "INTEGER"),
            _generated("output_tokens", "$.usage.output_tokens", "INTEGER"),
        ]
    )
    db.execute(
        f"CREATE TABLE events (\n  seq INTEGER PRIMARY KEY,\n  hash TEXT NOT NULL,\n  body TEXT NOT NULL,\n"
        f"  {columns}\n)"
    )
    db.execute("CREATE UNIQUE INDEX events_id ON events(id)")
    for column in ("time", "principal", "provider", "deployment", "event_type"):
        db.execute(f"CREATE INDEX events_{column} ON events({column})")
    db.execute(
        "CREATE TABLE heads (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, key_id TEXT NOT NULL, "
        "signed_at TEXT NOT NULL, signature TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE content (event_id TEXT PRIMARY KEY, stored_at TEXT NOT NULL, prompt TEXT, "
        "completion TEXT)"
    )
    db.execute("CREATE INDEX content_stored_at ON content(stored_at)")


@migration
def outcome_names_its_intent(db: sqlite3.Connection) -> None:
    """Outcomes (completion, failure) name their intent: indexed, so "outcome unknown" is one lookup."""
    db.execute(f"ALTER TABLE events ADD COLUMN {_generated('intent_id', '$.intent_id')}")
    db.execute("CREATE INDEX events_intent_id ON events(intent_id)")
    db.execute("CREATE INDEX events_type_time ON events(event_type, time)")  # intents in a time span


@migration
def journal_for_intents(db: sqlite3.Connection) -> None:
    """Intents written ahead of the chain (journal.py): one short row each, no index, no signature, so
    the durable write a routed call waits for is a small one. `events_event_type` goes: the prefix of
    `events_type_time` serves the same lookups, and each index is a page written per event."""
    db.execute(
        "CREATE TABLE journal (n INTEGER PRIMARY KEY, id TEXT NOT NULL, written TEXT NOT NULL, "
        "token TEXT NOT NULL, template TEXT NOT NULL)"
    )
    db.execute("DROP INDEX events_event_type")


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema up to date inside one write transaction (safe with several processes)."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise ConfigError(f"the audit store has schema version {version}, newer than this Polyroute knows "
                          f"({len(MIGRATIONS)}): upgrade Polyroute before writing to it")  # fmt: skip
    if version == len(MIGRATIONS):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class _DecimalSum:
    """SQL aggregate summing decimal strings exactly (SQLite's SUM would go through floats)."""

    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: Any, /) -> None:
        if value is not None:
            self.total += Decimal(value)

    def finalize(self) -> Any:
        return str(self.total)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the store's pragmas and schema; the caller decides if the file may be created."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA busy_timeout = 30000")
    use_wal(db)
    db.execute("PRAGMA synchronous = FULL")
    db.create_aggregate("decimal_sum", 1, _DecimalSum)
    migrate(db)
    return db


# -- PostgreSQL ------------------------------------------------------------------------------------
# The same tables, each step plain SQL, applied in order under an advisory lock and tracked in
# `polyroute_schema` (see polyroute.audit.postgres). As in SQLite, every queryable column is generated
# from the canonical body; `polyroute_body` reads a body that is not JSON as NULL (as a tampered row
# might be) so that verify, not an INSERT/UPDATE error, is what reports it.


def _pg_generated(name: str, path: str, kind: str = "text") -> str:
    expr = "polyroute_body(body)" + "".join(f" -> '{part}'" for part in path.split(".")[:-1])
    return f"{name} {kind} GENERATED ALWAYS AS (({expr} ->> '{path.split('.')[-1]}')::{kind}) STORED"


_PG_COLUMNS = ",\n  ".join(
    [
        _pg_generated("id", "id"),
        _pg_generated("time", "time"),
        _pg_generated("event_type", "event_type"),
        _pg_generated("principal", "principal"),
        _pg_generated("provider", "provider"),
        _pg_generated("deployment", "deployment"),
        _pg_generated("model", "model"),
        "allowed integer GENERATED ALWAYS AS "
        "(CASE polyroute_body(body) -> 'allowed' WHEN 'true' THEN 1 WHEN 'false' THEN 0 END) STORED",
        _pg_generated("cost_usd", "cost_usd"),
        _pg_generated("input_tokens", "usage.input_tokens", "bigint"),
        _pg_generated("output_tokens", "usage.output_tokens", "bigint"),
    ]
)

PG_MIGRATIONS: list[str] = [
    f"""
CREATE FUNCTION polyroute_body(body text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN body::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;
CREATE FUNCTION polyroute_decimal_add(total numeric, value text) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT total + COALESCE(value::numeric, 0) $$;
CREATE AGGREGATE decimal_sum(text) (SFUNC = polyroute_decimal_add, STYPE = numeric, INITCOND = '0');
CREATE TABLE events (
  seq bigint PRIMARY KEY,
  hash text NOT NULL,
  body text NOT NULL,
  {_PG_COLUMNS}
);
CREATE UNIQUE INDEX events_id ON events(id);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_principal ON events(principal);
CREATE INDEX events_provider ON events(provider);
CREATE INDEX events_deployment ON events(deployment);
CREATE INDEX events_event_type ON events(event_type);
CREATE TABLE heads (seq bigint PRIMARY KEY, hash text NOT NULL, key_id text NOT NULL,
                    signed_at text NOT NULL, signature text NOT NULL);
CREATE TABLE content (event_id text PRIMARY KEY, stored_at text NOT NULL, prompt text, completion text);
CREATE INDEX content_stored_at ON content(stored_at);
""",
    # 2: the budget ledger (polyroute.budget_postgres), amounts exact as numeric
    """
CREATE TABLE budget_totals (
  scope text NOT NULL, period_key text NOT NULL,
  spent numeric NOT NULL DEFAULT 0, reserved numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, period_key));
CREATE TABLE budget_reservations (
  id text PRIMARY KEY, keys jsonb NOT NULL, amount numeric NOT NULL, created double precision NOT NULL);
CREATE INDEX budget_reservations_created ON budget_reservations (created);
CREATE TABLE budget_settlements (id text PRIMARY KEY, settled double precision NOT NULL);
CREATE INDEX budget_settlements_settled ON budget_settlements (settled);
""",
    # 3: appends in three round trips (BEGIN + locked head read; all inserts; COMMIT). A VOLATILE
    # function's statements each take a fresh snapshot, so the head is read after the lock is held.
    """
CREATE FUNCTION polyroute_chain_head(OUT seq bigint, OUT hash text) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(8101813523244737652);  -- pgwriter.CHAIN_LOCK
  SELECT e.seq, e.hash INTO seq, hash FROM events e ORDER BY e.seq DESC LIMIT 1;
END $$;
CREATE FUNCTION polyroute_append(
  seqs bigint[], hashes text[], bodies text[], content_ids text[], stored_at text, prompts text[],
  completions text[], head_seq bigint, head_hash text, key_id text, signed_at text, signature text
) RETURNS void LANGUAGE sql VOLATILE AS $$
  INSERT INTO events (seq, hash, body) SELECT * FROM unnest(seqs, hashes, bodies);
  INSERT INTO content (event_id, stored_at, prompt, completion)
    SELECT c.id, stored_at, c.prompt, c.completion FROM unnest(content_ids, prompts, completions)
    AS c(id, prompt, completion);
  INSERT INTO heads (seq, hash, key_id, signed_at, signature)
    VALUES (head_seq, head_hash, key_id, signed_at, signature);
$$;
""",
    # 4: outcomes name their intent (as SQLite's migration 2): indexed, so "outcome unknown" is one
    # lookup per intent, and intents in a time span (a page of a listing) one index range
    f"""
ALTER TABLE events ADD COLUMN {_pg_generated("intent_id", "intent_id")};
CREATE INDEX events_intent_id ON events(intent_id);
CREATE INDEX events_type_time ON events(event_type, time);
""",
    # 5: the request window of requests-per-minute quotas (polyroute.quota, budget_postgres)
    """
CREATE TABLE rate_slots (
  id text NOT NULL, scope text NOT NULL, taken double precision NOT NULL, PRIMARY KEY (id, scope));
CREATE INDEX rate_slots_scope_taken ON rate_slots (scope, taken);
""",
]
