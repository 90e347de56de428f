"""Audit store benchmark: durable appends (sequential and 32 concurrent writers) and verification,
against raw SQLite floors measured in the same run on the same disk.

Targets (issue 4): sequential durable append <= 0.5 ms median; >= 5,000 durable appends/s from 32
concurrent writers in one process (each append durable and covered by a signed head when it returns);
>= 50,000 verified events/s (chain plus heads).  Run: .venv/bin/python tests/bench/bench_audit.py
"""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio
from benchkit import figure

from polyroute.audit import AuditStore, EventDraft, VerifyResult, open_store, verify_export
from polyroute.settings import load_settings
from polyroute.types import Usage

WRITERS, PER_WRITER, SEQUENTIAL = 32, 400, 2000


def receipt(n: int) -> EventDraft:
    """A routed-call receipt of realistic size (~1 KB canonical)."""
    candidates = [{"deployment": f"dep-{i}", "excluded": None if i == 0 else "residency: US not in SA"}
                  for i in range(5)]  # fmt: skip
    return EventDraft(
        event_type="completion", principal=f"user-{n % 7}", tool="complete", request_id=f"req-{n}",
        deployment="bedrock-eu-claude-sonnet-4-6", provider="bedrock", model="claude-sonnet-4-6",
        jurisdiction="SA", data_class="personal", allowed=True, reasons=["SA personal: within SA"],
        policy_version="sha256:" + "ab" * 32, request_hash="sha256:" + "cd" * 32,
        usage=Usage(input_tokens=1200 + n % 50, output_tokens=300), estimated_cost_usd=Decimal("0.0081"),
        cost_usd=Decimal("0.0079"), latency_ms=840.5, prompt_digest="hmac-sha256:" + "ef" * 32,
        completion_digest="hmac-sha256:" + "12" * 32, details={"candidates": candidates, "attempts": 1},
    )  # fmt: skip


class RawFloor:
    """Plain SQLite with the store's durability settings: the floor any durable append stands on."""

    def __init__(self, directory: Path, body: str) -> None:
        self.body = body
        self.db = sqlite3.connect(directory / "raw.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, hash TEXT, body TEXT)")

    def insert(self) -> float:
        """Seconds for one single-row durable transaction."""
        start = time.perf_counter()
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO t (hash, body) VALUES (?, ?)", ("0" * 64, self.body))
        self.db.execute("COMMIT")
        return time.perf_counter() - start

    def batched_rate(self) -> float:
        """Events/s in 100-row durable transactions."""
        start = time.perf_counter()
        for _ in range(100):
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT INTO t (hash, body) VALUES (?, ?)", [("0" * 64, self.body)] * 100)
            self.db.execute("COMMIT")
        return 10_000 / (time.perf_counter() - start)


async def sequential(store: AuditStore, raw: RawFloor) -> tuple[float, float]:
    """Median ms of one store append and of one raw insert, sampled alternately so that the load of
    a shared machine (other jobs, other disks' fsyncs) weighs on both alike."""
    for n in range(50):  # warm up: key, connection, schema
        await store.append(receipt(n))
    ours: list[float] = []
    floor: list[float] = []
    for n in range(SEQUENTIAL):
        floor.append(raw.insert())
        start = time.perf_counter()
        await store.append(receipt(n))
        ours.append(time.perf_counter() - start)
    return statistics.median(ours) * 1000, statistics.median(floor) * 1000


async def concurrent(store: AuditStore) -> float:
    async def writer(w: int) -> None:
        for n in range(PER_WRITER):
            await store.append(receipt(w * PER_WRITER + n))

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for w in range(WRITERS):
            group.start_soon(writer, w)
    return WRITERS * PER_WRITER / (time.perf_counter() - start)


def hash_floor(path: Path) -> float:
    """Events/s to read every body and SHA-256 it: the floor under any verification."""
    db = sqlite3.connect(path)
    start = time.perf_counter()
    count = sum(1 for (body,) in db.execute("SELECT body FROM events ORDER BY seq")
                if hashlib.sha256(body.encode()).digest())  # fmt: skip
    db.close()
    return count / (time.perf_counter() - start)


def report(
    name: str, value: float, unit: str, baseline: float, base_name: str, ok: bool, target: str = ""
) -> None:
    ratio = value / baseline if baseline else float("nan")
    better = "lower" if unit == "ms" else "higher"
    figure(
        name, value, unit, baseline=baseline, baseline_name=base_name, target=target, met=ok, better=better
    )
    print(f"{name:<44} {value:>12,.3f} {unit:<9} {ratio:>6.2f}x {base_name:<28} {'PASS' if ok else 'FAIL'}")


def print_report(
    seq_ms: float, raw_ms: float, rate: float, raw_batched: float, result: VerifyResult, verify_rate: float,
    export_rate: float, floor: float,
) -> None:  # fmt: skip
    print(f"{'measure':<44} {'value':>12} {'unit':<9} {'ratio':>7} {'baseline':<28} target")
    report(
        "sequential durable append (median)",
        seq_ms,
        "ms",
        raw_ms,
        f"raw insert {raw_ms:.3f} ms",
        seq_ms <= 0.5,
        "≤ 0.5 ms",
    )
    report(f"{WRITERS} concurrent writers, durable + signed", rate, "events/s", raw_batched,
           f"raw 100-row tx {raw_batched:,.0f}/s", rate >= 5000, "≥ 5,000/s")  # fmt: skip
    print(f"  (the verified store: {result.events_checked} events under {result.heads_checked} signed heads)")
    report(f"verify store ({result.events_checked} events)", verify_rate,  # heads vary with batching
           "events/s", floor, f"read+sha256 {floor:,.0f}/s", verify_rate >= 50_000, "≥ 50,000/s")  # fmt: skip
    report("verify export offline", export_rate, "events/s", floor, f"read+sha256 {floor:,.0f}/s",
           export_rate >= 50_000, "≥ 50,000/s")  # fmt: skip


async def main() -> int:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["POLYROUTE_DATA_DIR"] = tmp
        os.environ.pop("POLYROUTE_AUDIT_URL", None)
        os.environ.pop("POLYROUTE_CONFIG", None)
        settings = load_settings()
        from polyroute.audit.event import event_body

        body = event_body(receipt(0).model_dump())
        print(f"event size: {len(body.encode())} bytes canonical")
        raw = RawFloor(Path(tmp), body)
        store = open_store(settings)
        seq_ms, raw_ms = await sequential(store, raw)
        raw_batched = raw.batched_rate()
        rate = await concurrent(store)
        floor = hash_floor(settings.data_dir / "audit.db")
        start = time.perf_counter()
        result = await store.verify()
        verify_rate = result.events_checked / (time.perf_counter() - start)
        lines = [line async for line in store.export_lines()]
        start = time.perf_counter()
        exported = verify_export(lines, await store.public_key_pem())
        export_rate = exported.events_checked / (time.perf_counter() - start)
        await store.aclose()
    assert result.ok and exported.ok and result.head_seq == result.events_checked, (result, exported)
    print_report(seq_ms, raw_ms, rate, raw_batched, result, verify_rate, export_rate, floor)
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
