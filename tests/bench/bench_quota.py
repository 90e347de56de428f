"""Benchmark: what a requests-per-minute quota check costs a routed call, on the SQLite ledger.

A call with quotas takes one slot per quota (its principal's and its team's) in one `BEGIN IMMEDIATE`
transaction of `budget.db` (fsync'd, `synchronous=FULL`), like the budget reservation every call with a
spend limit already makes; that reservation (reserve + settle, two transactions) is the same-run
baseline. The window is kept holding ~500 slots per quota (the clock moves 60 s / 500 per call, limit
1,000 rpm), as a busy principal's would. Also: the refused check (quota used up), the path with no
quota configured, and `take_async` as the dispatcher awaits it (with the worker-thread hop).
Interleaved rounds; medians of wall time and of CPU time (the machine may be loaded by other work).
Run: `.venv/bin/python tests/bench/bench_quota.py` (or `scripts/bench bench_quota`).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from benchkit import figure

from polyroute.budget import Budgets
from polyroute.errors import QuotaExceeded
from polyroute.quota import Quotas
from polyroute.settings import Budget, Settings

ROUNDS = 2000
FILL = 500  # slots per quota in the window at steady state


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


def limits(data_dir: Path, clock: Clock) -> tuple[Quotas, Budgets]:
    entries = [
        Budget(scope="principal:bench", requests_per_minute=2 * FILL),
        Budget(scope="team:bench-team", requests_per_minute=2 * FILL),
        Budget(scope="principal:bench", period="day", limit_usd=Decimal("1000000")),
        Budget(scope="principal:full", requests_per_minute=1),
    ]
    settings = Settings(data_dir=data_dir, budgets=entries, teams={"bench-team": ["bench"]})
    budgets = Budgets(settings, clock=clock)
    return Quotas(settings, lambda: budgets.ledger, clock=clock), budgets


def timed(action: Callable[[], object], wall: list[float], cpu: list[float]) -> None:
    started, started_cpu = time.perf_counter(), time.process_time()
    action()
    cpu.append(time.process_time() - started_cpu)
    wall.append(time.perf_counter() - started)


def refused(quotas: Quotas) -> None:
    """A check the quota refuses (once a minute its one slot frees: a call takes it, the next is refused)."""
    for _ in range(2):
        try:
            quotas.take("full")
        except QuotaExceeded:
            return
    raise AssertionError("the full quota admitted two calls")


def main() -> None:
    with tempfile.TemporaryDirectory() as where:
        clock = Clock()
        quotas, budgets = limits(Path(where), clock)
        quotas.take("full")
        for _ in range(FILL):  # the window as a busy principal's holds it
            clock.now += 60 / FILL
            quotas.take("bench")
        kinds = ["quota check (2 quotas)", "refused check", "no quota configured", "budget reserve + settle"]
        wall: dict[str, list[float]] = {kind: [] for kind in kinds}
        cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(ROUNDS):  # interleaved: load hits every kind alike
            clock.now += 60 / FILL
            timed(lambda: quotas.take("bench"), wall[kinds[0]], cpu[kinds[0]])
            timed(lambda: refused(quotas), wall[kinds[1]], cpu[kinds[1]])
            timed(lambda: quotas.take("nobody"), wall[kinds[2]], cpu[kinds[2]])
            timed(lambda: budgets.settle(budgets.reserve("bench", Decimal("0.01")), Decimal("0.005")),
                  wall[kinds[3]], cpu[kinds[3]])  # fmt: skip
        hop_wall, hop_cpu = asyncio.run(_async_rounds(quotas, clock))
        wall["take_async (as dispatched)"], cpu["take_async (as dispatched)"] = hop_wall, hop_cpu
        assert quotas.status("bench")[0].used <= 2 * FILL
        asyncio.run(budgets.aclose())
    _report(wall, cpu, baseline_kind=kinds[3])


async def _async_rounds(quotas: Quotas, clock: Clock) -> tuple[list[float], list[float]]:
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(ROUNDS // 2):
        clock.now += 60 / FILL
        started, started_cpu = time.perf_counter(), time.process_time()
        await quotas.take_async("bench")
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return wall, cpu


def _report(wall: dict[str, list[float]], cpu: dict[str, list[float]], *, baseline_kind: str) -> None:
    base = statistics.median(wall[baseline_kind])
    base_cpu = statistics.median(cpu[baseline_kind])
    print(f"quota check per routed call, SQLite ledger, window holding ~{FILL} slots per quota "
          f"({ROUNDS} interleaved rounds; medians)")  # fmt: skip
    for kind in wall:
        median, median_cpu = statistics.median(wall[kind]), statistics.median(cpu[kind])
        print(f"{kind:>28}: {median * 1e6:8.1f} µs wall ({median / base:4.2f}× budget), "
              f"{median_cpu * 1e6:7.1f} µs CPU ({median_cpu / base_cpu:4.2f}×)")  # fmt: skip
    check = wall["quota check (2 quotas)"]
    figure("quota check per call (SQLite ledger, 2 quotas)", statistics.median(check) * 1e6, "µs",
           samples=[s * 1e6 for s in check], baseline=base * 1e6,
           baseline_name="budget reserve + settle on the same ledger")  # fmt: skip
    check_cpu = statistics.median(cpu["quota check (2 quotas)"])
    figure("quota check CPU per call (SQLite ledger, 2 quotas)", check_cpu * 1e6, "µs",
           baseline=base_cpu * 1e6, baseline_name="budget reserve + settle CPU")  # fmt: skip


if __name__ == "__main__":
    main()
