"""The journal process: a lone call's intent row written beside the event loop, and every way it can
go wrong leaving the chain whole and the call told the truth."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from audit_helpers import db_path, draft

from polyroute.audit import ahead
from polyroute.audit.sqlite import SqliteAuditStore
from polyroute.errors import PolyrouteError
from polyroute.settings import Settings

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.sqlite_only,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the child in /proc"),
]


def journal_processes(path: Path) -> list[int]:
    """This process's children running journald.py for the database at `path` (other tests' stores
    may not have closed yet). By parent pid: a thread's `children` list loses what the thread started
    once it exits (`start_journal` starts the process on a worker thread)."""
    found: list[int] = []
    me = str(os.getpid())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat, command = (proc / "stat").read_text(), (proc / "cmdline").read_bytes()
        except OSError:
            continue
        parent = stat[stat.rindex(")") + 2 :].split()[1]
        if parent == me and b"journald.py" in command and str(path).encode() in command:
            found.append(int(proc.name))
    return found


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[SqliteAuditStore]:
    opened = SqliteAuditStore(db_path(settings), settings)
    await opened.append(draft())
    assert await opened.start_journal()
    yield opened
    await opened.aclose()


def intent(n: int = 1):  # type: ignore[no-untyped-def]  # an EventDraft
    return draft(n, event_type="intent")


async def test_one_small_process_per_store_that_ends_with_the_store(settings: Settings) -> None:
    opened = SqliteAuditStore(db_path(settings), settings)
    await opened.append(draft())
    assert await opened.start_journal()
    (pid,) = journal_processes(db_path(settings))
    rss_kb = int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])
    assert rss_kb < 40_000  # no site-packages, no Polyroute: the standard library and sqlite3
    assert os.getpgid(pid) != os.getpgid(0)  # a terminal's Ctrl-C is for the parent alone
    ahead_ = await opened.append_ahead(intent(), alone=True)
    await ahead_.durable.wait()
    await opened.aclose()
    assert gone(pid) and journal_processes(db_path(settings)) == []


async def test_a_journal_process_that_died_between_rows_costs_one_group_commit(
    store: SqliteAuditStore,
) -> None:
    (pid,) = journal_processes(store.path)
    os.kill(pid, signal.SIGKILL)
    while not gone(pid):
        time.sleep(0.01)
    first = await store.append_ahead(intent(1), alone=True)  # its pipe is broken: the group commit
    await first.durable.wait()
    assert first.seq == 2
    assert await store.start_journal()  # a new one
    second = await store.append_ahead(intent(2), alone=True)
    await second.durable.wait()
    assert second.seq is None and (await store.verify()).ok
    chained = await store.get(second.id)
    assert chained is not None and chained.seq == 3


async def test_a_journal_process_that_does_not_answer_loses_the_intent_and_is_replaced(
    store: SqliteAuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ahead, "ANSWER_TIMEOUT_S", 0.3)
    (pid,) = journal_processes(store.path)
    os.kill(pid, signal.SIGSTOP)  # hung: it never reads the row
    try:
        lost = await store.append_ahead(intent(1), alone=True)
        with pytest.raises(PolyrouteError, match="append failed: the journal process did not answer"):
            await lost.durable.wait()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert gone(pid)  # killed: whatever it held is not trusted
    assert await store.start_journal()
    kept = await store.append_ahead(intent(2), alone=True)
    await kept.durable.wait()
    assert await store.get(lost.id) is None and await store.get(kept.id) is not None
    assert (await store.verify()).ok


async def test_the_writer_thread_reads_an_answer_nobody_asked_for(store: SqliteAuditStore) -> None:
    """A row's answer holds the writer's connection until read; a call that never asks (a bug, a
    crash of its task) must not stall every later commit."""
    unasked = await store.append_ahead(intent(1), alone=True)
    appended = await store.append(draft(2))  # waits for the connection: the writer reads the answer
    chained = await store.get(unasked.id)
    assert chained is not None and chained.seq == 2 and appended.seq == 3
    await unasked.durable.wait()  # asked late: the same answer
    assert (await store.verify()).ok


async def test_a_journal_process_that_cannot_start_is_not_retried_and_lone_intents_still_land(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "journald.py"
    broken.write_text("import sys\nsys.exit(3)\n")
    monkeypatch.setattr(ahead, "JOURNALD", broken)
    opened = SqliteAuditStore(db_path(settings), settings)
    try:
        await opened.append(draft())
        assert not await opened.start_journal()
        seqs: list[int | None] = []
        for n in range(3):
            appended = await opened.append_ahead(intent(n), alone=True)
            await appended.durable.wait()
            seqs.append(appended.seq)
        assert seqs == [2, 3, 4]  # chained at once
        assert journal_processes(db_path(settings)) == []  # and no process respawned
        assert (await opened.verify()).ok
    finally:
        await opened.aclose()


async def test_lone_intents_are_journaled_when_the_server_holds_over_a_thousand_descriptors(
    settings: Settings,
) -> None:
    """`select` refuses descriptors past 1024; a busy server's pipe to its journal process gets one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"cannot open 1200 descriptors here (hard limit {hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    opened = SqliteAuditStore(db_path(settings), settings)
    try:
        await opened.append(draft())
        assert await opened.start_journal()
        journaled = await opened.append_ahead(intent(), alone=True)
        await journaled.durable.wait()
        assert journaled.seq is None and await opened.get(journaled.id) is not None
    finally:
        await opened.aclose()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_wait_interrupted_before_the_answer_replaces_the_process(
    store: SqliteAuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its answer would otherwise be read as the next row's: a row refused for a lock could then pass
    for durable, and a request leave without its intent."""
    (pid,) = journal_processes(store.path)
    interrupted = await store.append_ahead(intent(1), alone=True)

    def interrupt(self: object, timeout: float) -> bool:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(ahead.JournalProcess, "_answered", interrupt)
        with pytest.raises(KeyboardInterrupt):
            await interrupted.durable.wait()
    assert gone(pid) and journal_processes(store.path) == []
    assert await store.start_journal()
    kept = await store.append_ahead(intent(2), alone=True)
    await kept.durable.wait()
    chained = await store.get(kept.id)
    assert chained is not None and (await store.verify()).ok
