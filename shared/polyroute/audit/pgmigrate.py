"""Apply `PG_MIGRATIONS` (audit chain and budget ledger tables) once each, in order, tracked in
`polyroute_schema` (one row: the version).

Replicas starting together are serialised by an advisory lock, so each step runs exactly once. A
database with a newer schema than this Polyroute knows is refused rather than written to.
"""

from __future__ import annotations

from typing import Any

import psycopg

from polyroute.audit.migrations import PG_MIGRATIONS
from polyroute.errors import ConfigError

MIGRATION_LOCK = 0x706F6C79_6D696772  # "polymigr"


def schema_version(db: psycopg.Connection[Any]) -> int | None:
    """The applied version, or None when the database holds no Polyroute schema yet."""
    found = db.execute("SELECT to_regclass('polyroute_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return None
    row = db.execute("SELECT version FROM polyroute_schema").fetchone()
    return int(row[0]) if row else 0


def _check_not_newer(version: int | None) -> None:
    if version is not None and version > len(PG_MIGRATIONS):
        raise ConfigError(
            f"the audit store has schema version {version}, newer than this Polyroute knows "
            f"({len(PG_MIGRATIONS)}): upgrade Polyroute before writing to it"
        )


def migrate_pg(url: str, *, connect_timeout: int = 10) -> None:
    """Bring the schema of the database at `url` up to date (safe with several replicas at once).

    Blocking (run it on a worker thread): it runs once per process and store. The lock is a session
    lock taken before the transaction starts: a transaction begun after waiting for it sees the
    tables another replica just created (catalog lookups inside a transaction that was already open
    while waiting could miss them).
    """
    with psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout) as db:
        version = schema_version(db)
        _check_not_newer(version)
        if version == len(PG_MIGRATIONS):
            return
        db.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        with db.transaction():
            _apply(db)


def _apply(db: psycopg.Connection[Any]) -> None:
    version = schema_version(db)
    _check_not_newer(version)
    if version is None:
        db.execute("CREATE TABLE polyroute_schema (version integer NOT NULL)")
        db.execute("INSERT INTO polyroute_schema VALUES (0)")
        version = 0
    for number, step in enumerate(PG_MIGRATIONS[version:], start=version + 1):
        db.execute(step.encode())
        db.execute("UPDATE polyroute_schema SET version = %s", (number,))
