"""PostgreSQL benchmark: signed durable appends/s from 1, 2 and 4 writer processes, and the overhead of
a routed call with the PostgreSQL store vs with SQLite.

1. Appends: K processes (K = 1, 2, 4), each with CONCURRENCY tasks appending ~1 KB receipts through
   `PostgresAuditStore` for SECONDS (each append committed, fsynced by the server and covered by a
   signed head when it returns). Baseline in the same run, on the same server: K processes with the
   same number of connections each doing raw single-row `INSERT` + `COMMIT` of the same body.
2. Routed `complete` against a loopback fake provider with the PostgreSQL store vs the SQLite store
   (interleaved blocks, as bench_routing does), and one receipt-sized append on each.

The server is a throwaway cluster (initdb + pg_ctl, fsync on, default synchronous_commit) on this
machine. Run: `.venv/bin/python tests/bench/bench_postgres.py` (or `scripts/bench bench_postgres`).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_audit import receipt  # noqa: E402

SECONDS, CONCURRENCY, ROUNDS = 4.0, 32, 200


async def _store_worker(url: str, seconds: float, tasks: int) -> int:
    from polyroute.audit import open_store
    from polyroute.settings import load_settings

    os.environ["POLYROUTE_AUDIT_URL"] = url
    store = open_store(load_settings())
    await store.ready()
    print("ready", flush=True)
    sys.stdin.readline()
    end, count = time.monotonic() + seconds, 0

    async def writer(index: int) -> None:
        nonlocal count
        while time.monotonic() < end:
            await store.append(receipt(index))
            count += 1

    await asyncio.gather(*(writer(n) for n in range(tasks)))
    await store.aclose()
    return count


async def _raw_worker(url: str, seconds: float, tasks: int) -> int:
    import psycopg

    from polyroute.audit.event import event_body

    body = event_body(receipt(1).model_dump())
    connections = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(tasks)]
    print("ready", flush=True)
    sys.stdin.readline()
    end, count = time.monotonic() + seconds, 0

    async def writer(db: psycopg.AsyncConnection[object]) -> None:
        nonlocal count
        while time.monotonic() < end:
            await db.execute("INSERT INTO raw_floor (hash, body) VALUES (%s, %s)", ("0" * 64, body))
            count += 1

    await asyncio.gather(*(writer(db) for db in connections))
    for db in connections:
        await db.close()
    return count


def worker_main(kind: str, url: str) -> None:
    run = _store_worker if kind == "store" else _raw_worker
    print(asyncio.run(run(url, SECONDS, CONCURRENCY)), flush=True)


def processes(kind: str, url: str, count: int, key_env: dict[str, str]) -> float:
    """Appends (or raw commits) per second from `count` processes started together."""
    argv = [sys.executable, __file__, "--worker", kind, url]
    procs = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, **key_env}) for _ in range(count)]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    total = sum(int(proc.communicate(timeout=120)[0].strip()) for proc in procs)
    return total / SECONDS


def append_section(cluster: object, home: Path) -> None:
    import psycopg

    from polyroute.testing.pgcluster import Cluster

    assert isinstance(cluster, Cluster)
    key_env = {"POLYROUTE_DATA_DIR": str(home / "data"), "POLYROUTE_AUDIT_KEY_FILE": str(home / "audit.key"),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}  # fmt: skip
    print(f"signed durable appends/s, {CONCURRENCY} tasks per process, {SECONDS:.0f} s each")
    print(f"{'processes':>9}  {'store':>9}  {'raw INSERT+COMMIT':>17}  {'ratio':>6}")
    for count in (1, 2, 4):
        url = cluster.create_database(f"bench_{count}")
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE TABLE raw_floor (id bigserial PRIMARY KEY, hash text, body text)")
        store = processes("store", url, count, key_env)
        raw = processes("raw", url, count, key_env)
        print(f"{count:>9}  {store:>9,.0f}  {raw:>17,.0f}  {store / raw:>6.2f}")


async def overhead(pg_url: str) -> dict[str, float]:
    from bench_routing import bench_app, interleaved, route

    from polyroute.audit import EventDraft
    from polyroute.testing import FakeProviders

    with FakeProviders() as fakes:
        for name, value in fakes.env().items():
            os.environ[name] = value
        apps = {"sqlite": bench_app(fakes), "postgres": bench_app(fakes)}
        apps["postgres"].settings.audit.url = pg_url
        request = route("EU", "personal", strategy="cheapest")
        calls = {}
        for name, app in apps.items():
            first = await app.router.complete(request)
            assert (await app.audit.get(first.receipt_id)) is not None
            draft = EventDraft(event_type="completion", principal="bench", details={"n": 1})
            calls[f"routed/{name}"] = lambda app=app: app.router.complete(request)
            calls[f"receipt/{name}"] = lambda app=app, draft=draft: app.audit.append(draft)
        try:
            samples = await interleaved(calls, ROUNDS)  # type: ignore[arg-type]
            return {name: statistics.median(values) for name, values in samples.items()}
        finally:
            for app in apps.values():
                await app.aclose()


def main() -> None:
    from polyroute.testing.pgcluster import Cluster

    load = os.getloadavg()[0]
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load:.1f} (the machine is shared: figures move between runs)")  # fmt: skip
    cluster = Cluster(fsync=True).start()
    home = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    try:
        try:
            append_section(cluster, home)
        except Exception:
            print(cluster.log_tail(), file=sys.stderr)
            raise
        os.environ.update(POLYROUTE_AUDIT_KEY_FILE=str(home / "audit.key"),
                          PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")  # fmt: skip
        medians = asyncio.run(overhead(cluster.create_database("bench_routed")))
        print(f"\nrouted complete against a loopback fake, median of {ROUNDS} (interleaved)")
        for name in ("routed/sqlite", "routed/postgres", "receipt/sqlite", "receipt/postgres"):
            print(f"  {name:<17} {medians[name]:7.2f} ms")
        pg, sqlite = medians["routed/postgres"], medians["routed/sqlite"]
        print(f"  PostgreSQL store adds {pg - sqlite:+.2f} ms per routed call "
              f"({pg / sqlite:.2f}x the SQLite store's)")  # fmt: skip
    finally:
        cluster.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main(sys.argv[2], sys.argv[3])
    else:
        main()
