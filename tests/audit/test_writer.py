"""The SQLite writer's intent journal: a lone call's intent is durable in one small write on the journal
thread while the caller goes on, chained by the next group commit (or by the next reader, after a
crash), and never at the cost of group commit, of the outcome naming it, or of the event loop while
another process writes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from audit_helpers import db_path, draft

from polyroute.audit import batch, event
from polyroute.audit.sqlite import SqliteAuditStore
from polyroute.errors import PolyrouteError
from polyroute.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.sqlite_only]


@pytest.fixture
async def writer_store(settings: Settings) -> AsyncIterator[SqliteAuditStore]:
    opened = SqliteAuditStore(db_path(settings), settings)
    await opened.append(draft())  # the writer thread opens the connection that lone intents reuse
    assert await opened.start_journal()
    yield opened
    await opened.aclose()


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path(settings)) as db:
        return list(db.execute(sql))


def intent(n: int = 1):  # type: ignore[no-untyped-def]  # an EventDraft
    return draft(n, event_type="intent")


async def test_a_lone_intent_is_journaled_without_giving_the_event_loop_a_turn(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    turns: list[str] = []
    asyncio.get_running_loop().call_soon(turns.append, "turn")
    ahead = await store.append_ahead(intent(), alone=True)
    await ahead.durable.wait()
    assert turns == [] and ahead.seq is None  # durable in the journal, not yet chained
    assert ahead.durable.failure() is None
    ((journaled_id, template),) = rows(settings, "SELECT id, template FROM journal")
    assert journaled_id == ahead.id and event._TOKEN not in str(template)  # pyright: ignore[reportPrivateUsage]
    assert rows(settings, "SELECT max(seq) FROM heads") == [(1,)]
    chained = await store.get(ahead.id)  # a read chains what this process journaled
    assert chained is not None and chained.seq == 2 and chained.event_type == "intent"
    assert rows(settings, "SELECT count(*) FROM journal") == [(0,)]
    assert (await store.verify()).ok


async def test_an_outcome_gets_the_seq_of_the_intent_it_names_once_both_are_chained(
    writer_store: SqliteAuditStore,
) -> None:
    store = writer_store
    ahead = await store.append_ahead(intent(), alone=True)
    outcome_id = store.append_later(draft(2, event_type="completion", intent_id=ahead.id))
    stray_id = store.append_later(draft(3, event_type="failure", intent_id="evt_not_in_this_log"))
    chained, outcome = await store.get(ahead.id), await store.get(outcome_id)
    stray = await store.get(stray_id)
    assert chained is not None and outcome is not None and stray is not None
    assert outcome.intent_seq == chained.seq == 2 and outcome.seq == 3 and chained.time <= outcome.time
    assert stray.intent_id == "evt_not_in_this_log" and stray.intent_seq is None
    assert (await store.verify()).ok


async def test_concurrent_lone_intents_stay_correct(writer_store: SqliteAuditStore) -> None:
    """`alone` is a promise the caller keeps; broken, the intents still each land once, in order."""
    store = writer_store
    ids: list[str] = []

    async def one(n: int) -> None:
        ahead = await store.append_ahead(intent(n), alone=True)
        await ahead.durable.wait()
        ids.append(ahead.id)

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(one, n)
    result = await store.verify()
    assert result.ok and result.events_checked == 9
    assert len(ids) == 8 and all([await store.get(event_id) is not None for event_id in ids])


async def test_a_lone_intent_does_not_hold_the_event_loop_while_another_process_writes(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    other = sqlite3.connect(db_path(settings), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks: list[float] = []
    ahead = None

    async def ticker() -> None:
        while True:
            ticks.append(anyio.current_time())
            await anyio.sleep(0.005)

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
        ahead = await store.append_ahead(intent(), alone=True)  # the row is refused: the lock is taken
        await ahead.durable.wait()  # chained by the writer thread instead, which waits for the lock
        group.cancel_scope.cancel()
    other.close()
    assert ahead is not None
    chained = await store.get(ahead.id)
    assert chained is not None and chained.seq == 2 and len(ticks) >= 10  # the loop kept running meanwhile
    assert rows(settings, "SELECT count(*) FROM journal") == [(0,)]
    assert (await store.verify()).ok


async def test_a_journal_that_cannot_be_written_fails_the_intent_and_the_store_recovers(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    with sqlite3.connect(db_path(settings)) as db:
        db.execute("ALTER TABLE journal RENAME TO journal_away")
    lost = await store.append_ahead(intent(), alone=True)
    with pytest.raises(PolyrouteError, match="append failed.*no such table: journal"):
        await lost.durable.wait()
    failure = lost.durable.failure()
    assert failure is not None and "append failed" in str(failure)
    with pytest.raises(PolyrouteError, match="append failed"):  # asked again: the same answer
        await lost.durable.wait()
    with sqlite3.connect(db_path(settings)) as db:
        db.execute("ALTER TABLE journal_away RENAME TO journal")
    ahead = await store.append_ahead(intent(2), alone=True)  # the thread's fresh connection takes over
    assert ahead.seq == 2 and (await store.verify()).ok


CRASHING = """
import anyio, os
from polyroute.audit.sqlite import SqliteAuditStore
from polyroute.errors import PolyrouteError
from polyroute.audit import EventDraft
from polyroute.settings import load_settings

async def main() -> None:
    settings = load_settings()
    store = SqliteAuditStore(settings.data_dir / "audit.db", settings)
    await store.append(EventDraft(event_type="external", principal="before"))
    assert await store.start_journal()
    ahead = await store.append_ahead(EventDraft(event_type="intent", principal="doomed"), alone=True)
    await ahead.durable.wait()  # what a routed call waits for before its provider request leaves
    print(ahead.id, ahead.seq, flush=True)
    os._exit(0)  # no close, no atexit: as if killed right after the provider was called

anyio.run(main)
"""


async def test_an_intent_journaled_by_a_process_that_died_is_chained_by_the_next_reader(
    settings: Settings,
) -> None:
    done = subprocess.run([sys.executable, "-c", CRASHING], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    intent_id, seq = done.stdout.split()
    assert seq == "None" and rows(settings, "SELECT id FROM journal") == [(intent_id,)]
    (written,) = rows(settings, "SELECT written FROM journal")[0]
    store = SqliteAuditStore(db_path(settings), settings)
    try:
        found = await store.get(intent_id)
        assert found is not None and found.principal == "doomed" and found.seq == 2
        assert event.format_time(found.time) == written  # the moment it was written, not the recovery's
        assert rows(settings, "SELECT count(*) FROM journal") == [(0,)]
        assert (await store.verify()).ok
    finally:
        await store.aclose()


async def test_a_reader_without_the_signing_key_leaves_the_journal_as_found(
    writer_store: SqliteAuditStore, settings: Settings, tmp_path: Path
) -> None:
    """A copy of someone's store read elsewhere: chaining it would sign with a key made up on the spot."""
    ahead = await writer_store.append_ahead(intent(), alone=True)
    await ahead.durable.wait()
    elsewhere = settings.model_copy(
        update={"audit": settings.audit.model_copy(update={"key_file": tmp_path / "k"})}
    )
    reader = SqliteAuditStore(db_path(settings), elsewhere)
    try:
        assert await reader.get(ahead.id) is None and (await reader.verify()).events_checked == 1
        assert rows(settings, "SELECT id FROM journal") == [(ahead.id,)] and not (tmp_path / "k").exists()
    finally:
        await reader.aclose()
    assert await writer_store.get(ahead.id) is not None  # its own installation chains it


async def test_what_a_lone_call_leaves_lingers_longer_than_a_concurrent_calls_outcome(
    writer_store: SqliteAuditStore,
) -> None:
    """A lone call's intent and outcome (`alone`) wait up to 50 ms for company (one commit for many
    sequential calls); a concurrent call's outcome 5 ms (under load, longer cost latency: see
    `LONE_LINGER_S`)."""
    store, loop = writer_store, asyncio.get_running_loop()
    delays: list[float] = []
    schedule = loop.call_later

    def noted(delay: float, *args: Any) -> asyncio.TimerHandle:
        delays.append(delay)
        return schedule(delay, *args)

    loop.call_later = noted  # type: ignore[method-assign]
    try:
        ahead = await store.append_ahead(intent(), alone=True)  # the side list was empty: arms a timer
        store.append_later(draft(2, event_type="completion", intent_id=ahead.id), alone=True)  # joins it
        await store.get(ahead.id)  # a read commits the side list at once
        store.append_later(draft(3, event_type="completion", intent_id="evt_x", intent_seq=7))
    finally:
        loop.call_later = schedule  # type: ignore[method-assign]
    assert delays == [batch.LONE_LINGER_S, batch.LINGER_S] == [0.05, 0.005]
