"""The store API the router and the MCP servers code against, on a real SQLite file and a real
PostgreSQL database (see conftest.py)."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from audit_helpers import db_path, draft, fill, is_postgres, raw

from polyroute.audit import (
    AuditEvent,
    AuditStore,
    EventContent,
    EventDraft,
    EventQuery,
    content_digest,
    open_store,
)
from polyroute.audit.store import sqlite_path
from polyroute.errors import ConfigError, PolyrouteError
from polyroute.settings import Settings
from polyroute.types import Usage

pytestmark = pytest.mark.anyio


async def test_empty_store_verifies_and_is_not_created_by_reading(
    store: AuditStore, settings: Settings
) -> None:
    result = await store.verify()
    assert (result.ok, result.events_checked, result.first_bad_seq) == (True, 0, None)
    assert await store.query() == [] and await store.tail(5) == [] and await store.get("evt_x") is None
    assert [line async for line in store.export_lines()] == []
    assert is_postgres(settings) or not db_path(settings).exists()


async def test_append_returns_the_committed_event_and_get_returns_the_same(store: AuditStore) -> None:
    first = await store.append(draft(1))
    second = await store.append(draft(2, details={"cost": Decimal("0.5"), "ratio": 0.25}))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash
    assert first.id.startswith("evt_") and first.time.tzinfo is not None
    assert await store.get(second.id) == second
    assert second.details == {"cost": "0.5", "ratio": 0.25}  # Decimals in details are recorded as strings
    assert second.cost_usd == Decimal("0.00125")  # 0.00105 + 2 / 10_000, exactly


async def test_query_filters_newest_first(store: AuditStore) -> None:
    await fill(store, 12)
    await store.append(draft(99, event_type="refusal", allowed=False, principal="mallory"))
    assert [e.seq for e in await store.query(EventQuery(limit=3))] == [13, 12, 11]
    assert {e.provider for e in await store.query(EventQuery(provider="openai"))} == {"openai"}
    assert len(await store.query(EventQuery(principal="user-0", provider="anthropic"))) == 2  # n = 0, 6
    refused = await store.query(EventQuery(allowed=False))
    assert [e.principal for e in refused] == ["mallory"]
    assert [e.seq for e in await store.query(EventQuery(event_type="refusal"))] == [13]
    assert (
        len(await store.query(EventQuery(deployment="openai-gpt-5-4", model="gpt-5.4"))) == 7
    )  # n odd, and 99


async def test_an_event_query_also_finds_record_events_written_as_external_by_older_logs(
    store: AuditStore,
) -> None:
    """Before 2026-12-04 `record_event` wrote type `external`; DESIGN names it `event`. Both stay
    readable, and asking for `event` must not hide the older ones."""
    old = await store.append(EventDraft(event_type="external", principal="a"))
    new = await store.append(EventDraft(event_type="event", principal="a"))
    await store.append(EventDraft(event_type="refusal", principal="a"))
    assert [e.seq for e in await store.query(EventQuery(event_type="event"))] == [new.seq, old.seq]
    assert [e.seq for e in await store.query(EventQuery(event_type="external"))] == [old.seq]
    assert (await store.verify()).ok


async def test_query_by_time_window(store: AuditStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await fill(store, 3)
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert len(await store.query(EventQuery(since=before, until=after))) == 3
    assert await store.query(EventQuery(since=after)) == []
    naive = before.replace(tzinfo=None)  # naive times are taken as UTC
    assert len(await store.query(EventQuery(since=naive))) == 3


async def test_summaries_group_and_sum_exactly(store: AuditStore) -> None:
    await fill(store, 6)
    by_provider = {s.key: s for s in await store.summarize("provider")}
    assert set(by_provider) == {"anthropic", "openai"}
    anthropic = by_provider["anthropic"]  # n = 0, 2, 4
    assert (anthropic.events, anthropic.input_tokens, anthropic.output_tokens) == (3, 306, 36)
    assert anthropic.cost_usd == Decimal("0.00105") * 3 + Decimal("0.0006")
    day = await store.summarize("day", EventQuery(principal="user-1"))
    assert [(s.key, s.events) for s in day] == [(datetime.now(UTC).strftime("%Y-%m-%d"), 2)]
    with pytest.raises(PolyrouteError, match="group by"):
        await store.summarize("colour")  # type: ignore[arg-type]


async def test_summaries_show_the_estimate_error_of_completions(store: AuditStore) -> None:
    """Estimated against actual, per group: USD (exact sum, mean relative error) and input tokens where
    the receipt records the estimate; a failure, and a completion without an estimate, add nothing."""
    low = draft(0, estimated_cost_usd=Decimal("0.0010"), cost_usd=Decimal("0.0012"),
                usage=Usage(input_tokens=90, cache_read_tokens=30, output_tokens=5),
                details={"estimated_input_tokens": 100})  # fmt: skip
    high = draft(2, estimated_cost_usd=Decimal("0.0020"), cost_usd=Decimal("0.0015"),
                 usage=Usage(input_tokens=80, output_tokens=5),
                 details={"estimated_input_tokens": 100})  # fmt: skip
    for event in (low, high, draft(4, estimated_cost_usd=None), draft(6, event_type="failure", usage=None)):
        await store.append(event)
    by_provider = {s.key: s for s in await store.summarize("provider")}
    row = by_provider["anthropic"]
    assert (row.events, row.estimated_calls, row.token_estimated_calls) == (4, 2, 2)
    assert row.estimated_cost_usd == Decimal("0.0030")
    assert row.estimate_error_usd == Decimal("0.0027") - Decimal("0.0030")  # exact: actual − estimate
    assert row.estimate_error_mean == pytest.approx((0.2 - 0.25) / 2)
    assert row.estimate_error_mean_abs == pytest.approx((0.2 + 0.25) / 2)
    assert (row.estimated_input_tokens, row.actual_input_tokens) == (200, 200)  # cache reads are input
    assert row.input_token_error_mean == pytest.approx(0.0)
    assert row.input_token_error_mean_abs == pytest.approx(0.2)
    day = await store.summarize("day")
    assert day[0].estimated_calls == 2 and day[0].estimate_error_usd == Decimal("-0.0003")


async def test_summaries_without_estimates_say_so(store: AuditStore) -> None:
    await store.append(draft(1, estimated_cost_usd=None))
    (row,) = await store.summarize("provider")
    assert (row.estimated_calls, row.estimated_cost_usd, row.estimate_error_usd) == (0, 0, 0)
    assert row.estimate_error_mean is None and row.input_token_error_mean is None


async def test_tail_is_oldest_first(store: AuditStore) -> None:
    await fill(store, 5)
    assert [e.seq for e in await store.tail(2)] == [4, 5]


async def test_concurrent_appends_share_commits_and_all_verify(store: AuditStore) -> None:
    seqs: list[int] = []

    async def writer(worker: int) -> None:
        for n in range(20):
            seqs.append((await store.append(draft(n, principal=f"w{worker}"))).seq)

    async with anyio.create_task_group() as group:
        for worker in range(32):
            group.start_soon(writer, worker)
    assert sorted(seqs) == list(range(1, 641))
    result = await store.verify()
    assert result.ok and result.events_checked == 640 and result.head_seq == 640
    assert result.heads_checked < 640  # group commit: fewer signatures than events


async def test_every_append_is_covered_by_a_head_when_it_returns(
    store: AuditStore, settings: Settings
) -> None:
    event = await store.append(draft())
    with raw(settings) as db:
        assert db.execute("SELECT hash FROM heads WHERE seq = ?", (event.seq,)).fetchone() == (event.hash,)


async def test_bad_detail_values_fail_only_that_append(store: AuditStore) -> None:
    with pytest.raises(PolyrouteError, match="cannot record"):
        await store.append(draft(details={"x": object()}))
    with pytest.raises(PolyrouteError, match="surrogate"):
        await store.append(draft(details={"x": "\ud800"}))
    assert (await store.append(draft())).seq == 1


async def test_files_are_private(store: AuditStore, settings: Settings) -> None:
    await store.append(draft())
    files = [settings.audit_key_file] + ([] if is_postgres(settings) else [db_path(settings)])
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_content_is_digested_and_not_stored_by_default(store: AuditStore, settings: Settings) -> None:
    event = await store.append(draft(), content=EventContent(prompt="secret plan", completion="ok"))
    assert event.prompt_digest == content_digest(settings, "secret plan")
    assert (event.prompt_digest or "").startswith("hmac-sha256:")
    assert await store.content(event.id) is None
    if is_postgres(settings):
        with raw(settings) as db:
            assert db.execute("SELECT count(*) FROM events WHERE body LIKE '%%secret%%'").fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM content").fetchone() == (0,)
    else:
        assert b"secret plan" not in db_path(settings).read_bytes()


async def test_opt_in_content_is_kept_and_purged_without_breaking_the_chain(settings: Settings) -> None:
    kept = settings.model_copy(update={"audit": settings.audit.model_copy(update={"store_content": True})})
    store = open_store(kept)
    try:
        event = await store.append(draft(), content=EventContent(prompt="hello", completion="hi"))
        assert await store.content(event.id) == EventContent(prompt="hello", completion="hi")
        with raw(settings) as db:
            db.execute("UPDATE content SET stored_at = '2000-01-01T00:00:00.000000Z'")
    finally:
        await store.aclose()
    store = open_store(kept)  # a fresh writer purges on its first commit
    try:
        await store.append(draft())
        assert await store.content(event.id) is None
        assert (await store.verify()).ok
        texts = ["ok", "caf\udce9", "fine"]  # appended together: a bad one must not fail its batch
        results = await asyncio.gather(
            *(store.append(draft(), content=EventContent(prompt=t)) for t in texts), return_exceptions=True
        )
        assert isinstance(results[1], PolyrouteError) and "not valid Unicode" in str(results[1])
        assert all(isinstance(r, AuditEvent) for r in (results[0], results[2]))
    finally:
        await store.aclose()


async def test_content_kept_before_opting_out_is_still_purged(settings: Settings) -> None:
    """Turning content logging off must not keep the text already stored forever."""
    kept = settings.model_copy(update={"audit": settings.audit.model_copy(update={"store_content": True})})
    store = open_store(kept)
    try:
        event = await store.append(draft(), content=EventContent(prompt="hello", completion="hi"))
    finally:
        await store.aclose()
    with raw(settings) as db:
        db.execute("UPDATE content SET stored_at = '2000-01-01T00:00:00.000000Z'")
    store = open_store(settings)  # store_content is off now
    try:
        await store.append(draft())
        assert await store.content(event.id) is None
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////var/lib/audit.db", Path("/var/lib/audit.db")),
        ("sqlite:///rel/audit.db", Path("rel/audit.db")),
        ("SQLite:////var/lib/audit.db", Path("/var/lib/audit.db")),  # schemes are case-insensitive
    ],
)
def test_sqlite_urls(url: str, path: Path) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///a.db?mode=ro"])
def test_unusable_sqlite_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="SQLite file"):
        sqlite_path(url)


async def test_an_unreachable_postgres_fails_closed_and_the_password_is_not_echoed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polyroute.testing.pgcluster import free_port

    monkeypatch.setenv("POLYROUTE_PG_CONNECT_TIMEOUT", "1")
    url = f"postgresql://u:hunter2@127.0.0.1:{free_port()}/x"
    pg = settings.model_copy(update={"audit": settings.audit.model_copy(update={"url": url})})
    store = open_store(pg)
    try:
        for attempt in (store.ready(), store.append(draft())):
            with pytest.raises(PolyrouteError, match="127.0.0.1") as caught:
                await attempt
            assert "hunter2" not in str(caught.value)
    finally:
        await store.aclose()


def test_other_url_schemes_are_refused_and_the_password_is_not_echoed(settings: Settings) -> None:
    other = settings.model_copy(
        update={"audit": settings.audit.model_copy(update={"url": "mysql://u:pw@h/x"})}
    )
    with pytest.raises(ConfigError, match="'mysql'") as caught:
        open_store(other)
    assert "pw" not in str(caught.value)


async def test_events_appended_from_two_event_loops(settings: Settings) -> None:
    """The CLI runs one event loop per command on a shared store object."""
    store = open_store(settings)
    await store.append(EventDraft(event_type="external", principal="a"))
    await anyio.to_thread.run_sync(
        lambda: anyio.run(store.append, EventDraft(event_type="external", principal="b"))
    )
    assert [e.principal for e in await store.tail(2)] == ["a", "b"]
    await store.aclose()


async def test_closing_while_appending_loses_nothing_and_the_store_reopens(settings: Settings) -> None:
    store = open_store(settings)
    seqs: list[int] = []

    async def writer() -> None:
        for n in range(30):
            seqs.append((await store.append(draft(n))).seq)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(writer)
        for _ in range(5):
            await anyio.sleep(0.002)
            await store.aclose()  # appends keep arriving; a fresh writer thread takes them
    await store.aclose()
    assert sorted(seqs) == list(range(1, 121))
    assert (await store.verify()).ok


async def test_an_unusable_key_fails_appends_closed_until_fixed(
    store: AuditStore, settings: Settings
) -> None:
    import os

    await store.append(draft())
    await store.aclose()
    os.chmod(settings.audit_key_file, 0o644)
    reopened = open_store(settings)
    try:
        with pytest.raises(ConfigError, match="chmod 600"):
            await reopened.append(draft())
        os.chmod(settings.audit_key_file, 0o600)
        assert (await reopened.append(draft())).seq == 2
        assert (await reopened.verify()).ok
    finally:
        await reopened.aclose()


async def test_a_store_from_a_newer_schema_is_refused(store: AuditStore, settings: Settings) -> None:
    await store.append(draft())
    await store.aclose()
    with raw(settings) as db:
        pg = is_postgres(settings)
        db.execute("UPDATE polyroute_schema SET version = 99" if pg else "PRAGMA user_version = 99")
    newer = open_store(settings)
    with pytest.raises(ConfigError, match="newer"):
        await newer.append(draft())
    with pytest.raises(ConfigError, match="newer"):
        await newer.verify()
    await newer.aclose()


@pytest.mark.sqlite_only
async def test_a_file_that_is_not_a_database_is_a_clear_error(settings: Settings) -> None:
    db_path(settings).parent.mkdir(parents=True, exist_ok=True)
    db_path(settings).write_bytes(b"this is not SQLite" * 100)
    store = open_store(settings)
    with pytest.raises(PolyrouteError, match="not a database") as raised:
        await store.verify()
    assert "audit verify" not in str(raised.value)  # no advice to run the command that just failed
    with pytest.raises(PolyrouteError, match="not a database"):
        await store.append(draft())
    await store.aclose()
