"""What every benchmark shares: the machine it ran on, a loud failure for a missing baseline, and the
figures it reports, written as JSON lines for `collect.py` to gather into one results file per run.

Each `bench_*.py` still prints its own readable table; `figure(...)` additionally appends one JSON line
to `$POLYROUTE_BENCH_OUT` when `scripts/bench` sets it, so the README's performance table comes from
the results file and never from numbers copied by hand.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("polyroute", "mcp", "anthropic", "openai", "boto3", "pydantic", "tiktoken", "litellm", "psycopg")


def require(module: str, *, why: str) -> ModuleType:
    """Import a baseline's module or stop the run loudly: a benchmark without its baseline is no figure."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        sys.stderr.write(
            f"benchmark baseline missing: cannot import {module} ({why}): {error}\n"
            "run the benchmarks with scripts/bench, which installs the 'bench' extra\n"
        )
        raise SystemExit(3) from None


def machine() -> dict[str, Any]:
    """Where and with what the figures were measured."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "processor": platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "system": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "commit": _commit(),
        "packages": versions,
    }


def _commit() -> str | None:
    try:
        argv = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() or None


def cpu_seconds() -> float:
    """CPU time of this process (every thread) and of its live child processes (Linux: a lone routed
    call's intent is written by the audit store's journal process, whose CPU is the call's cost too)."""
    total = time.process_time()
    for listing in Path("/proc/self/task").glob("*/children"):  # each thread's children
        try:
            for pid in listing.read_text().split():
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a p99 is a value that was actually measured)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    samples: Sequence[float] | None = None,
    baseline: float | None = None,
    baseline_name: str | None = None,
    target: str | None = None,
    met: bool | None = None,
    better: str = "lower",
) -> None:
    """Report one headline figure of this run (value in `unit`; `samples` in the same unit for p99)."""
    out = os.environ.get("POLYROUTE_BENCH_OUT")
    if not out:
        return
    record: dict[str, Any] = {
        "bench": Path(sys.argv[0]).stem,
        "run": int(os.environ.get("POLYROUTE_BENCH_RUN", "1")),
        "name": name,
        "value": value,
        "unit": unit,
        "better": better,
    }
    if samples:
        record |= {
            "median": statistics.median(samples),
            "p99": percentile(samples, 0.99),
            "min": min(samples),
            "max": max(samples),
            "n": len(samples),
        }
    if baseline is not None:
        ratio = value / baseline if baseline else None
        record |= {"baseline": baseline, "baseline_name": baseline_name, "ratio": ratio}
    if target is not None:
        record |= {"target": target, "met": met}
    with open(out, "a", encoding="utf-8") as sink:
        sink.write(json.dumps(record) + "\n")
