"""What only the PostgreSQL store has to show: lost connections, retried commits, replicas' exports.

The rest of its contract is the shared suite (test_store.py, test_tamper.py, …), run on both backends.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import anyio
import psycopg
import pytest
from audit_helpers import draft, raw

from polyroute.audit import AuditEvent, AuditStore, open_store, verify_export
from polyroute.audit.event import body_template, new_event_id
from polyroute.audit.pgwriter import PgPending
from polyroute.audit.postgres import PostgresAuditStore
from polyroute.errors import PolyrouteError
from polyroute.settings import Settings, load_settings
from polyroute.testing.pgcluster import Cluster

pytestmark = pytest.mark.anyio


@pytest.fixture
def pg(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", postgres_url)
    return load_settings()


def _terminate_others(url: str) -> int:
    """Kill every other backend on this database, as a failover or a DBA would."""
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


async def test_connections_terminated_mid_stream_lose_nothing_and_write_nothing_twice(pg: Settings) -> None:
    store = open_store(pg)
    await store.ready()
    acknowledged: list[AuditEvent] = []
    killed = 0

    async def writer(worker: int) -> None:
        for n in range(40):
            acknowledged.append(await store.append(draft(n, principal=f"w{worker}")))

    async def killer() -> None:  # a few cuts spread over the run, as repeated failovers would make
        nonlocal killed
        for _ in range(6):
            while len(acknowledged) < 320 and len(acknowledged) < (killed + 1) * 40:
                await anyio.sleep(0.005)
            killed += await anyio.to_thread.run_sync(_terminate_others, pg.audit_url)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(killer)
            for worker in range(8):
                group.start_soon(writer, worker)
        killed += await anyio.to_thread.run_sync(_terminate_others, pg.audit_url)  # and idle ones
        result = await store.verify()
    finally:
        await store.aclose()
    assert killed > 0  # the connections really were cut while appending
    with raw(pg) as db:
        rows = db.execute("SELECT id, seq FROM events ORDER BY seq").fetchall()
    assert Counter(row[0] for row in rows).most_common(1)[0][1] == 1  # no event written twice
    assert [row[1] for row in rows] == list(range(1, len(rows) + 1))  # no gap
    assert {e.id for e in acknowledged} == {row[0] for row in rows}  # every acknowledged event, no other
    assert result.ok and result.events_checked == 320


async def test_a_commit_retried_after_its_acknowledgement_was_lost_is_not_written_again(pg: Settings) -> None:
    """The retry path of pgwriter: the batch's ids are found, so the stored events are the answer."""
    store = open_store(pg)
    assert isinstance(store, PostgresAuditStore)
    await store.append(draft(0))
    event_id = new_event_id()
    template = body_template({**draft(1).model_dump(), "id": event_id})
    future: asyncio.Future[tuple[int, str, str]] = asyncio.get_running_loop().create_future()
    batch = [PgPending(template, event_id, None, future)]
    pool = (await store._writer()).pool  # pyright: ignore[reportPrivateUsage]
    committer = store._committer  # pyright: ignore[reportPrivateUsage]
    first = await committer._commit_retrying(pool, batch)  # pyright: ignore[reportPrivateUsage]
    signer = await store._load_signer_async()  # pyright: ignore[reportPrivateUsage]
    async with pool.connection() as db:  # as `_commit_retrying` retries after a lost connection
        again = await committer._commit(db, signer, batch, retry=True)  # pyright: ignore[reportPrivateUsage]
    assert first == again
    with raw(pg) as db:
        assert db.execute("SELECT count(*), max(seq) FROM events").fetchone() == (2, 2)
        assert db.execute("SELECT count(*) FROM heads").fetchone() == (2,)
    assert (await store.verify()).ok
    await store.aclose()


async def test_a_server_that_goes_away_refuses_appends_and_ready_until_it_is_back(
    pg: Settings, postgres_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appends fail (never half-written) while the database refuses connections; then carry on.
    `ready` skips its round trip for a moment after a success, never after a failure."""
    monkeypatch.setattr("polyroute.audit.pgwriter.RETRY_FOR_S", 0.5)
    monkeypatch.setenv("POLYROUTE_PG_CONNECT_TIMEOUT", "1")
    store = open_store(load_settings())
    await store.append(draft(0))
    dbname = pg.audit_url.rsplit("/", 1)[1]
    postgres_cluster.allow_connections(dbname, False)
    try:
        await store.ready()  # a commit just succeeded: trusted for READY_FOR_S without a round trip
        with pytest.raises(PolyrouteError, match="append failed"):
            await store.append(draft(1))
        with pytest.raises(PolyrouteError, match="cannot write receipts"):
            await store.ready()  # a failed append ends the window: the database is asked again
    finally:
        postgres_cluster.allow_connections(dbname, True)
    await _ready_within(store, 15)  # the pool reconnects on its own backoff: the first ask may be early
    assert (await store.append(draft(2))).seq == 2
    assert (await store.verify()).ok
    await store.aclose()


async def _ready_within(store: AuditStore, seconds: float) -> None:
    """`ready()` succeeds again within `seconds` of the database coming back (asked every 0.2 s)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await store.ready()
        except PolyrouteError:
            if time.monotonic() > deadline:
                raise
            await anyio.sleep(0.2)


def _shape(line: str) -> tuple[str, list[str], list[str]]:
    record = json.loads(line)
    return record["type"], sorted(record), sorted(record.get("event", {}))


async def test_an_export_from_postgres_verifies_offline_exactly_like_one_from_sqlite(
    pg: Settings, tmp_path: Path
) -> None:
    """Same key, same events, two backends: both exports verify, and the same damage fails the same way."""
    sqlite = pg.model_copy(
        update={"audit": pg.audit.model_copy(update={"url": f"sqlite:///{tmp_path}/a.db"})}
    )
    exports: list[list[str]] = []
    for settings in (pg, sqlite):
        store = open_store(settings)
        for n in range(30):
            await store.append(draft(n))
        exports.append([line async for line in store.export_lines()])
        public = await store.public_key_pem()
        await store.aclose()
    from_pg, from_sqlite = exports
    assert [_shape(line) for line in from_pg] == [_shape(line) for line in from_sqlite]  # the same format
    for lines in exports:
        result = verify_export(lines, public)
        assert result.ok and result.events_checked == 30
        damaged = [line.replace('"user-1"', '"user-9"', 1) if '"seq":8,' in line else line for line in lines]
        assert verify_export(damaged, public).first_bad_seq == 8
