"""PostgreSQL connection settings shared by the audit store and the budget ledger.

Read from the environment for now (settings.py has no section for them yet):
`POLYROUTE_PG_POOL_SIZE` (connections per pool, default 10), `POLYROUTE_PG_CONNECT_TIMEOUT` (seconds
to wait for a connection, default 10) and `POLYROUTE_BUDGET_URL` (the ledger's database; default:
the audit store's when that is PostgreSQL, else the SQLite ledger under the data dir).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from polyroute.errors import ConfigError
from polyroute.settings import Settings


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).split(":", 1)[0].lower().split("+", 1)[0] in ("postgresql", "postgres")


def pool_size() -> int:
    raw = os.environ.get("POLYROUTE_PG_POOL_SIZE", "10")
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ConfigError(f"POLYROUTE_PG_POOL_SIZE must be a positive integer, got {raw!r}")
    return size


def connect_timeout() -> int:
    raw = os.environ.get("POLYROUTE_PG_CONNECT_TIMEOUT", "10")
    try:
        return max(1, round(float(raw)))
    except ValueError:
        raise ConfigError(f"POLYROUTE_PG_CONNECT_TIMEOUT must be a number of seconds, got {raw!r}") from None


def redacted(url: str) -> str:
    """The URL without its user and password: what errors and logs may show."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def conninfo(url: str) -> str:
    """What libpq takes: a SQLAlchemy-style `postgresql+psycopg://` becomes `postgresql://`."""
    return "postgresql:" + url.split(":", 1)[1] if is_postgres_url(url) else url


def ledger_url(settings: Settings) -> str | None:
    """The PostgreSQL database of the budget ledger, or None for the embedded SQLite ledger."""
    explicit = os.environ.get("POLYROUTE_BUDGET_URL")
    if explicit:
        if not is_postgres_url(explicit):
            raise ConfigError("POLYROUTE_BUDGET_URL must be a postgresql://… URL (unset it for SQLite)")
        return explicit
    return settings.audit_url if is_postgres_url(settings.audit_url) else None
