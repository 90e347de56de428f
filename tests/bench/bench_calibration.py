"""Benchmark: what usage calibration adds to a quote, to a routed call's outcome, and to a first quote.

Figures (medians, µs per call unless said; CPU time, which the other engineers' load on the machine
distorts less than wall time, next to wall time):
- lookup: `UsageCalibration.adjust` on a Claude heuristic count whose model has a fit (cached), against
  the quote it feeds (offline count + quote of the same short prompt, the baseline), and the same
  lookup right after a new call invalidated the fit (median and MAD of 50 ratios recomputed);
- outcome: `UsageCalibration.learn` on a completion draft (the one line dispatch adds after queueing
  the receipt), against building that draft (`EventDraft` validation, which every outcome already pays);
- seed: one process's first calibrated quote reading the last 1,000 completion receipts of a SQLite
  audit log (ms), against the bare query of the same receipts.
Run: `.venv/bin/python tests/bench/bench_calibration.py` (or `scripts/bench bench_calibration`).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from benchkit import figure

from polyroute import cost
from polyroute.audit import EventDraft, EventQuery, open_store
from polyroute.catalog import Catalog, Deployment, parse_deployment
from polyroute.settings import Settings
from polyroute.tokencount import counting_key
from polyroute.types import Usage
from polyroute.usagecalibration import SEED_LIMIT, WINDOW, UsageCalibration

ROUNDS = 21
PROMPT = "Summarise the attached tenancy agreement for the landlord and list every date it names."
CLAUDE: Deployment = parse_deployment(
    {"id": "bench-claude", "provider": "anthropic", "model": "claude-sonnet-4-6", "location": "US",
     "context_window": 1_000_000, "max_output_tokens": 64_000,
     "price_ref": {"model_ref": "claude-sonnet-4-6", "provider_id": "anthropic"}},
    origin="user", where="bench",
)  # fmt: skip


def timed(action: Callable[[], object], per_round: int) -> tuple[float, float]:
    """(median CPU µs, median wall µs) per call over ROUNDS rounds."""
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(ROUNDS):
        start_cpu, start = time.process_time(), time.perf_counter()
        for _ in range(per_round):
            action()
        cpu.append((time.process_time() - start_cpu) / per_round * 1e6)
        wall.append((time.perf_counter() - start) / per_round * 1e6)
    return statistics.median(cpu), statistics.median(wall)


def receipt_fields(n: int) -> dict[str, Any]:
    candidates = [{"deployment": f"dep-{i}", "expected_cost_usd": 0.001, "max_cost_usd": 0.01, "score": 1.0}
                  for i in range(5)]  # fmt: skip
    return {
        "event_type": "completion", "principal": f"user-{n % 7}", "tool": "complete", "deployment": CLAUDE.id,
        "provider": "anthropic", "model": CLAUDE.model, "jurisdiction": "SA", "data_class": "personal",
        "allowed": True, "usage": Usage(input_tokens=120 + n % 9, output_tokens=80), "cost_usd": "0.0021",
        "estimated_cost_usd": "0.0019", "latency_ms": 812.0,
        "details": {"token_counts": {counting_key(CLAUDE): 100, "o200k_base": 90}, "candidates": candidates,
                    "estimated_input_tokens": 100},
    }  # fmt: skip


def lookup() -> None:
    calibration = UsageCalibration(Catalog([CLAUDE]))
    for n in range(WINDOW):
        calibration.observe(CLAUDE.model, 100, 120 + n % 9)
    counted = cost.count_tokens(PROMPT, CLAUDE)
    cpu, wall = timed(lambda: calibration.adjust(CLAUDE, counted), 2000)
    base_cpu, base_wall = timed(
        lambda: cost.quote(CLAUDE, cost.count_tokens(PROMPT, CLAUDE), max_tokens=1024), 200
    )

    def relearned() -> None:
        calibration.observe(CLAUDE.model, 100, 121)
        calibration.adjust(CLAUDE, counted)

    cold_cpu, cold_wall = timed(relearned, 500)
    print(f"adjust, fit cached:      {cpu:7.2f} µs CPU ({wall:.2f} wall)")
    print(f"observe + adjust, refit: {cold_cpu:7.2f} µs CPU ({cold_wall:.2f} wall)")
    print(f"baseline count + quote:  {base_cpu:7.2f} µs CPU ({base_wall:.2f} wall)")
    figure(
        "calibration lookup per quote", cpu, "µs", baseline=base_cpu, baseline_name="offline count + quote"
    )
    figure("calibration lookup after a new call (refit)", cold_cpu, "µs", baseline=base_cpu,
           baseline_name="offline count + quote")  # fmt: skip


def outcome() -> None:
    calibration = UsageCalibration(Catalog([CLAUDE]))
    draft = EventDraft.model_validate(receipt_fields(1))
    cpu, wall = timed(lambda: calibration.learn(draft), 2000)
    base_cpu, base_wall = timed(lambda: EventDraft.model_validate(receipt_fields(1)), 500)
    print(f"learn per outcome:       {cpu:7.2f} µs CPU ({wall:.2f} wall)")
    print(f"baseline receipt draft:  {base_cpu:7.2f} µs CPU ({base_wall:.2f} wall)")
    figure(
        "calibration learn per outcome",
        cpu,
        "µs",
        baseline=base_cpu,
        baseline_name="EventDraft of the receipt",
    )


async def seed() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        store = open_store(settings)
        for start in range(0, SEED_LIMIT, 100):
            for n in range(start, start + 100):
                store.append_later(EventDraft.model_validate(receipt_fields(n)))
            await store.append(EventDraft.model_validate(receipt_fields(start)))
        seeds: list[float] = []
        reads: list[float] = []
        for _ in range(7):
            begin = time.process_time()
            await UsageCalibration(Catalog([CLAUDE])).seed(store)
            seeds.append((time.process_time() - begin) * 1e3)
            begin = time.process_time()
            await store.query(EventQuery(event_type="completion", limit=SEED_LIMIT))
            reads.append((time.process_time() - begin) * 1e3)
        await store.aclose()
    value, base = statistics.median(seeds), statistics.median(reads)
    print(f"seed from {SEED_LIMIT} receipts:   {value:7.1f} ms CPU (bare query {base:.1f} ms)")
    figure("calibration seed, first quote of a process", value, "ms", baseline=base,
           baseline_name=f"query of the last {SEED_LIMIT} completions")  # fmt: skip


def main() -> None:
    print(f"Python {sys.version.split()[0]}; medians of {ROUNDS} rounds")
    lookup()
    outcome()
    anyio.run(seed)


if __name__ == "__main__":
    main()
