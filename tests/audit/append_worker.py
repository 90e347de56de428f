"""A separate process appending to the audit store named by the environment (used by test_processes).

usage: python append_worker.py NAME COUNT CONCURRENCY [wait]   (COUNT 0 = until killed)
With `wait` it prints "ready" and starts when a line arrives on stdin (so processes start together).
Prints one line per committed event so the parent can watch progress.
"""

from __future__ import annotations

import sys

import anyio

from polyroute.audit import EventDraft, open_store
from polyroute.settings import load_settings


async def main(name: str, count: int, concurrency: int, wait: bool) -> None:
    store = open_store(load_settings())
    if wait:
        await store.ready()  # file, schema and signing key first: a cold start must not decide the race
        print("ready", flush=True)
        sys.stdin.readline()
    done = 0

    async def worker() -> None:
        nonlocal done
        while count == 0 or done < count:
            done += 1
            event = await store.append(EventDraft(event_type="external", principal=name, details={"n": done}))
            print(event.seq, flush=True)

    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    await store.aclose()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:] == ["wait"])
