"""The SQLite group-commit writer: a lone append commits on the caller's thread, never at the cost of
group commit, of what `enqueue` left waiting, or of the event loop while another process writes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import anyio
import pytest
from audit_helpers import db_path, draft

from polyroute.audit.sqlite import SqliteAuditStore
from polyroute.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.sqlite_only]


@pytest.fixture
async def writer_store(settings: Settings) -> AsyncIterator[SqliteAuditStore]:
    opened = SqliteAuditStore(db_path(settings), settings)
    await opened.append(draft())  # the writer thread opens the connection that lone appends reuse
    yield opened
    await opened.aclose()


def heads(settings: Settings) -> list[int]:
    with sqlite3.connect(db_path(settings)) as db:
        return [seq for (seq,) in db.execute("SELECT seq FROM heads ORDER BY seq")]


async def test_a_lone_append_is_committed_without_giving_the_event_loop_a_turn(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    turns: list[str] = []
    asyncio.get_running_loop().call_soon(turns.append, "lone")
    lone = await store.append_ack(draft(1), alone=True)
    assert turns == []  # no thread hop: the event loop never ran while it committed
    queued = await store.append_ack(draft(2))
    assert turns == ["lone"]  # the default waits for the writer thread (as concurrent appends must)
    assert (lone.seq, queued.seq) == (2, 3) and heads(settings)[-2:] == [2, 3]
    assert (await store.verify()).ok


async def test_a_lone_append_takes_what_enqueue_left_into_its_commit(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    outcome_id = store.append_later(draft(1, event_type="completion"))
    intent = await store.append_ack(draft(2), alone=True)
    assert heads(settings) == [1, 3]  # one transaction, one signature for both
    event = await store.get(outcome_id)
    assert event is not None and (event.seq, intent.seq) == (2, 3)


async def test_concurrent_lone_appends_still_share_commits(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    """`alone` is a promise the caller keeps; broken, the appends stay correct, one commit each."""
    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(lambda n=n: store.append_ack(draft(n), alone=True))
    result = await store.verify()
    assert result.ok and result.events_checked == 9 and heads(settings)[-1] == 9


async def test_a_lone_append_does_not_hold_the_event_loop_while_another_process_writes(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    other = sqlite3.connect(db_path(settings), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks: list[float] = []
    seqs: list[int] = []

    async def ticker() -> None:
        while True:
            ticks.append(anyio.current_time())
            await anyio.sleep(0.005)

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
        seqs.append((await store.append_ack(draft(1), alone=True)).seq)  # the writer thread waits instead
        group.cancel_scope.cancel()
    other.close()
    assert seqs == [2] and len(ticks) >= 10  # the loop kept running meanwhile
    assert (await store.verify()).ok


async def test_a_lone_append_that_fails_keeps_the_store_usable(
    writer_store: SqliteAuditStore, settings: Settings
) -> None:
    store = writer_store
    with sqlite3.connect(db_path(settings)) as db:  # tampering: a head already signed for the next seq
        db.execute("INSERT INTO heads VALUES (3, 'x', 'k', '2026-01-01T00:00:00.000000Z', 's')")
    outcome_id = store.append_later(draft(1, event_type="completion"))
    with pytest.raises(Exception, match="append failed") as failed:
        await store.append_ack(draft(2), alone=True)
    assert "audit verify" in str(failed.value)
    assert await store.get(outcome_id) is None  # it rode in the failed transaction: logged, not stored
    with sqlite3.connect(db_path(settings)) as db:
        db.execute("DELETE FROM heads WHERE seq = 3")
    assert (await store.append_ack(draft(3), alone=True)).seq == 2  # a fresh connection takes over
    assert (await store.verify()).ok
