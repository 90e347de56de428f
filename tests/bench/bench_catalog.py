"""Benchmark: loading the catalog, which every server and CLI command does once at start-up.

Figures (medians): parsing + validating the bundled catalog cold, per App with a user deployment,
lookups, and the import cost of `polyroute.catalog`. Baselines measured in the same run: `tomllib`
parsing the same file (the floor of any TOML catalog), and a bare `python -c pass` interpreter start.
Run: `.venv/bin/python tests/bench/bench_catalog.py` (or `scripts/bench bench_catalog`).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from importlib import resources

from benchkit import figure

from polyroute import catalog as catalog_module
from polyroute.catalog import bundled_deployments, load_catalog

ROUNDS = 31
SOVEREIGN = {
    "id": "riyadh-allam-7b", "provider": "openai_compatible", "model": "allam-7b-instruct",
    "base_url": "https://llm.example.sa/v1", "location": "SA", "capabilities": ["arabic"],
    "context_window": 4096, "max_output_tokens": 2048,
    "price": {"input_per_mtok": "0.20", "output_per_mtok": "0.60"},
}  # fmt: skip


def median_seconds(action: Callable[[], object], rounds: int = ROUNDS, per_round: int = 1) -> float:
    samples: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            action()
        samples.append((time.perf_counter() - start) / per_round)
    return statistics.median(samples)


def cold_bundled() -> object:
    catalog_module._bundled_data.cache_clear()  # pyright: ignore[reportPrivateUsage]
    bundled_deployments.cache_clear()
    return bundled_deployments()


def interpreter(code: str) -> float:
    def run() -> None:
        subprocess.run([sys.executable, "-c", code], check=True)

    return median_seconds(run, rounds=11)


def main() -> None:
    text = resources.files("polyroute").joinpath("data/deployments.toml").read_text(encoding="utf-8")
    toml_only = median_seconds(lambda: tomllib.loads(text))
    cold = median_seconds(cold_bundled)
    bundled_deployments()
    per_app = median_seconds(lambda: load_catalog([SOVEREIGN]))
    catalog = load_catalog([SOVEREIGN])
    ids = catalog.ids()
    get = median_seconds(lambda: [catalog.get(i) for i in ids], per_round=10) / len(ids)
    by_model = median_seconds(lambda: catalog.of_model("claude-sonnet-5-5"), per_round=100)
    bare = interpreter("pass")
    imported = interpreter("import polyroute.catalog")
    loaded = interpreter("import polyroute.catalog as c; c.load_catalog()")

    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    print(f"bundled catalog: {len(bundled_deployments())} deployments, {len(text):,} bytes of TOML")
    print(f"baseline tomllib.loads(file)          {toml_only * 1e3:8.2f} ms")
    print(f"bundled catalog cold (parse+validate) {cold * 1e3:8.2f} ms  = {cold / toml_only:5.1f}x tomllib")
    figure("bundled catalog cold load", cold * 1e3, "ms", baseline=toml_only * 1e3, baseline_name="tomllib")
    print(f"load_catalog per App (+1 user entry)  {per_app * 1e3:8.3f} ms")
    print(f"Catalog.get                           {get * 1e9:8.0f} ns")
    print(f"Catalog.of_model                      {by_model * 1e6:8.2f} us  ({len(ids)} deployments scanned)")
    print(f"baseline python -c pass               {bare * 1e3:8.1f} ms")
    print(f"python -c 'import polyroute.catalog'  {imported * 1e3:8.1f} ms  (+{(imported - bare) * 1e3:.1f})")
    print(f"... and load_catalog()                {loaded * 1e3:8.1f} ms  (+{(loaded - bare) * 1e3:.1f})")


if __name__ == "__main__":
    main()
