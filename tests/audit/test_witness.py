"""The witness: a log cut short since its last verification no longer verifies, and no server starts on it.

Each attack from the outside review: the newest events deleted with their heads, the WAL deleted or
truncated, the whole database deleted. Without the witness every one of them left a valid, shorter log.
Every backend (the WAL is SQLite's own: those tests run on SQLite only).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from audit_helpers import db_path, fill, is_postgres, tamper

from polyroute.audit import open_store
from polyroute.audit.witness import check_witness, read_witness, verify_store, witness_path
from polyroute.errors import ConfigError, PolyrouteError
from polyroute.settings import Settings
from polyroute_servers.cli import main


def _seed_and_verify(settings: Settings, count: int) -> None:
    async def run() -> None:
        store = open_store(settings)
        await fill(store, count)
        assert (await verify_store(store, settings)).ok
        await store.aclose()

    anyio.run(run)


def _verify(settings: Settings) -> tuple[bool, str]:
    async def run() -> tuple[bool, str]:
        store = open_store(settings)
        try:
            result = await verify_store(store, settings)
        finally:
            await store.aclose()
        return result.ok, result.reason or ""

    return anyio.run(run)


def test_verify_records_the_head_in_a_0600_file_outside_the_store(settings: Settings) -> None:
    _seed_and_verify(settings, 4)
    witness = read_witness(settings)
    assert witness is not None and witness.seq == 4
    path = witness_path(settings)
    assert path.parent != db_path(settings).parent and (path.stat().st_mode & 0o777) == 0o600
    assert "polyroute-audit-witness/1" in path.read_text()


@pytest.mark.attack("newest audit events deleted together with their signed heads", area="audit")
def test_newest_events_deleted_with_their_heads_are_caught(settings: Settings) -> None:
    _seed_and_verify(settings, 8)
    tamper(settings, ("DELETE FROM events WHERE seq > 5", ()), ("DELETE FROM heads WHERE seq > 5", ()))
    assert _verifies_without_witness(settings)
    ok, reason = _verify(settings)
    assert not ok and "the log ends at event 5 but the witness" in reason and "names event 8" in reason


@pytest.mark.attack("audit database deleted", area="audit")
def test_a_deleted_database_is_caught_and_no_server_starts_on_it(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed_and_verify(settings, 3)
    if is_postgres(settings):  # what is left of a dropped and recreated database: empty tables
        tamper(settings, ("DELETE FROM events", ()), ("DELETE FROM heads", ()))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path(settings)}{suffix}").unlink(missing_ok=True)
    code = main(["audit", "verify", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["ok"] is False and document["witness_seq"] == 3
    assert "the log ends at event 0 but the witness" in document["reason"]
    assert main(["serve", "audit"]) == 1
    assert "no longer holds event 3" in capsys.readouterr().err


def _verifies_without_witness(settings: Settings) -> bool:
    async def run() -> bool:
        store = open_store(settings)
        try:
            return (await store.verify()).ok
        finally:
            await store.aclose()

    return anyio.run(run)


def _holder(path: Path) -> subprocess.Popen[str]:
    """Another process with the database open, so closing ours does not checkpoint the WAL away."""
    code = (
        "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1]); "
        "db.execute('SELECT COUNT(*) FROM events').fetchall(); print('ready', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


@pytest.mark.attack("SQLite WAL deleted or truncated", area="audit")
@pytest.mark.sqlite_only
@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_deleted_or_truncated_wal_is_caught(settings: Settings, damage: str) -> None:
    _seed_and_verify(settings, 2)  # in the database file proper (the last close checkpointed it)
    holder = _holder(db_path(settings))
    try:
        _seed_and_verify(settings, 6)  # events 3-8 only in the WAL: the holder keeps it from a checkpoint
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a crash: nobody checkpoints
        holder.wait()
    wal = Path(f"{db_path(settings)}-wal")
    assert wal.stat().st_size > 0
    if damage == "delete":
        wal.unlink()
    else:
        with wal.open("r+b") as handle:
            handle.truncate(wal.stat().st_size // 2)
    Path(f"{db_path(settings)}-shm").unlink(missing_ok=True)
    with sqlite3.connect(db_path(settings)) as db:
        left = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert left < 8 and _verifies_without_witness(settings)  # the attack: a shorter log that verifies
    ok, reason = _verify(settings)
    assert not ok and f"the log ends at event {left} but the witness" in reason


@pytest.mark.attack("audit log replaced by another signed log", area="audit")
def test_a_log_replaced_by_another_is_caught(settings: Settings, tmp_path: Path) -> None:
    _seed_and_verify(settings, 3)
    tamper(settings, ("DELETE FROM events", ()), ("DELETE FROM heads", ()))

    async def regrow() -> None:
        store = open_store(settings)
        await fill(store, 5)  # a fresh, validly signed chain, longer than the witnessed one
        await store.aclose()

    anyio.run(regrow)
    ok, reason = _verify(settings)
    assert not ok and "event 3 does not have the hash the witness" in reason


def test_server_start_checks_the_witness_and_moves_it_to_the_latest_signed_head(settings: Settings) -> None:
    _seed_and_verify(settings, 2)

    async def run() -> None:
        store = open_store(settings)
        await fill(store, 3)
        await check_witness(store, settings)
        witness = read_witness(settings)
        assert witness is not None and witness.seq == 5
        await store.aclose()

    anyio.run(run)
    tamper(settings, ("DELETE FROM events WHERE seq > 4", ()), ("DELETE FROM heads WHERE seq > 4", ()))

    async def refused() -> None:
        store = open_store(settings)
        with pytest.raises(PolyrouteError, match="no longer holds event 5"):
            await check_witness(store, settings)
        await store.aclose()

    anyio.run(refused)


def test_a_damaged_witness_fails_verification_and_one_beside_the_store_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_and_verify(settings, 1)
    witness_path(settings).write_text("{not json")
    ok, reason = _verify(settings)
    assert not ok and "is not a Polyroute witness file" in reason
    if is_postgres(settings):
        return  # a database has no directory to share with the witness
    settings.audit.witness_file = db_path(settings).with_name("witness.json")
    with pytest.raises(ConfigError, match="in the audit store's directory"):
        witness_path(settings)
