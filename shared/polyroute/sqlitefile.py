"""SQLite files that several processes share (the audit log, the budget ledger): WAL and busy handling.

Switching a file to WAL takes an exclusive lock, and SQLite reports a clash at once, without calling
its busy handler: two servers (or fifty ledger connections) opening a fresh file together would fail
with "database is locked". Busy errors come with extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, …).
"""

from __future__ import annotations

import random
import sqlite3
import time

WAL_SWITCH_TIMEOUT_S = 30.0


def is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or one of its extended codes."""
    return (error.sqlite_errorcode & 0xFF) == sqlite3.SQLITE_BUSY


def use_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a persistent setting), retrying while another connection does too."""
    deadline = time.monotonic() + WAL_SWITCH_TIMEOUT_S
    while True:
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.001, 0.01))
