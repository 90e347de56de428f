"""Several processes on one SQLite file, and a process killed mid-append."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from polyroute.audit import EventDraft, EventQuery, open_store
from polyroute.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
WORKER = str(Path(__file__).with_name("append_worker.py"))


def _spawn(name: str, count: int, concurrency: int, *extra: str) -> subprocess.Popen[str]:
    pipe = subprocess.PIPE
    command = [sys.executable, WORKER, name, str(count), str(concurrency), *extra]
    return subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, text=True)


async def test_two_processes_appending_1000_each_leave_one_intact_chain(settings: Settings) -> None:
    workers = [_spawn("proc-a", 1000, 4, "wait"), _spawn("proc-b", 1000, 4, "wait")]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:  # start both at once
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        out, err = worker.communicate(timeout=90)
        assert worker.returncode == 0, err
        assert len(out.split()) == 1000
    store = open_store(settings)
    try:
        result = await store.verify()
        assert (result.ok, result.events_checked, result.head_seq) == (True, 2000, 2000)
        for name in ("proc-a", "proc-b"):
            events = await store.query(EventQuery(principal=name, limit=10_000))
            assert sorted(e.details["n"] for e in events) == list(range(1, 1001))
        order = [e.principal for e in await store.query(EventQuery(limit=10_000))]
        switches = sum(1 for a, b in zip(order, order[1:], strict=False) if a != b)
        assert switches > 2, "the two processes did not actually append at the same time"
    finally:
        await store.aclose()


async def test_sigkill_mid_append_loop_leaves_a_verifiable_log(settings: Settings) -> None:
    worker = _spawn("doomed", 0, 8)
    assert worker.stdout is not None
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 300 and time.monotonic() < deadline:  # let it get well into its loop
        if worker.stdout.readline():
            seen += 1
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    assert seen >= 300
    store = open_store(settings)  # "after restart"
    try:
        before = await store.verify()
        assert before.ok and before.events_checked >= seen
        after = await store.append(EventDraft(event_type="external", principal="survivor"))
        assert after.seq == before.events_checked + 1
        assert (await store.verify()).ok
    finally:
        await store.aclose()
