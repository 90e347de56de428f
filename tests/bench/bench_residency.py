"""Benchmark: residency verdicts over a synthetic 500-deployment catalog (uncached).

Target: ≤ 20 µs per verdict (median). Baselines measured in the same run: the bare frozenset subset
test a verdict cannot avoid, and building an empty-reasons `Verdict` model (the result object alone).
Run: `.venv/bin/python tests/bench/bench_residency.py` (or `scripts/bench bench_residency`).
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchkit import figure

from polyroute import locations
from polyroute.catalog import Deployment
from polyroute.residency import DATA_CLASSES, Policy, Verdict, load_policy
from polyroute.settings import Settings

DEPLOYMENTS = 500
QUERIES = 2_000
ROUNDS = 51
JURISDICTIONS = ("SA", "AE", "AE-DIFC", "AE-ADGM", "QA", "BH", "KW", "OM", "EU", "GB", "US")
SINGLE = ["SA", "AE", "QA", "BH", "DE", "FR", "IE", "GB", "US", "JP", "aws:me-central-1", "azure:uaenorth",
          "gcp:me-central2", "aws:eu-central-1", "aws:us-east-1"]  # fmt: skip


def _locations(rng: random.Random) -> list[str]:
    """One place, a Bedrock profile's member regions, several places, or ANY."""
    roll = rng.random()
    if roll < 0.45:
        return [rng.choice(SINGLE)]
    if roll < 0.75:
        profile = rng.choice(["eu", "us", "apac", "jp", "au"])
        return [f"aws:{region}" for region in locations.BEDROCK_PROFILES[profile] or ()]
    if roll < 0.9:
        return rng.sample(SINGLE, rng.randint(2, 4))
    return ["ANY"]


def synthetic_catalog(rng: random.Random) -> list[Deployment]:
    deployments: list[Deployment] = []
    for number in range(DEPLOYMENTS):
        processing = _locations(rng)
        storage = processing if rng.random() < 0.7 else [rng.choice(SINGLE)]
        fields: dict[str, Any] = {
            "id": f"synthetic-{number:03d}", "provider": "openai_compatible", "model": f"model-{number % 17}",
            "api_model": f"model-{number % 17}", "base_url": "http://127.0.0.1:9/v1",
            "processing_locations": processing, "storage_locations": storage,
            "context_window": 128_000, "max_output_tokens": 8_192,
            "trains_on_inputs": rng.choice([None, False, True]), "retention_days": rng.choice([None, 0, 30]),
        }  # fmt: skip
        deployments.append(Deployment.model_validate(fields))
    return deployments


def per_call_us(batch: Callable[[], None], calls: int) -> float:
    """Median over ROUNDS of one batch's time divided by its calls, in microseconds."""
    batch()  # warm up
    samples: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        batch()
        samples.append((time.perf_counter_ns() - start) / calls / 1000)
    return statistics.median(samples)


def main() -> int:
    rng = random.Random(20261125)
    policy: Policy = load_policy(Settings(data_dir=Path("/nonexistent")))
    catalog = synthetic_catalog(rng)
    queries = [
        (rng.choice(JURISDICTIONS), rng.choice(DATA_CLASSES), rng.choice(catalog)) for _ in range(QUERIES)
    ]
    rules = {(j, c): policy.rule_for(j, c) for j in JURISDICTIONS for c in DATA_CLASSES}
    sets = [(frozenset(rules[(j, c)].countries), frozenset(d.processing_locations)) for j, c, d in queries]  # type: ignore[union-attr]

    def verdicts() -> None:
        for jurisdiction, data_class, deployment in queries:
            policy.check(jurisdiction, data_class, deployment, deployment_id=deployment.id)

    def subsets() -> None:
        for allowed, where in sets:
            _ = where <= allowed

    def models() -> None:
        for jurisdiction, data_class, deployment in queries:
            where = list(deployment.processing_locations)
            Verdict(allowed=True, rule=None, reasons=[], processing_locations=where, deployment=deployment.id,
                    jurisdiction=jurisdiction, data_class=data_class)  # fmt: skip

    outcomes = [policy.check(j, c, d, deployment_id=d.id).allowed for j, c, d in queries]
    verdict_us, subset_us, model_us = (per_call_us(f, QUERIES) for f in (verdicts, subsets, models))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    allowed = sum(outcomes)
    print(f"catalog: {DEPLOYMENTS} synthetic deployments, {QUERIES} queries "
          f"({allowed} allowed, {QUERIES - allowed} denied), median of {ROUNDS} rounds")  # fmt: skip
    met = "MET" if verdict_us <= 20 else "MISSED"
    figure("verdict, uncached", verdict_us, "µs", baseline=model_us, baseline_name="bare Verdict model",
           target="≤ 20 µs", met=verdict_us <= 20)  # fmt: skip
    print(f"verdict (uncached)           {verdict_us:8.2f} µs   target ≤ 20 µs: {met}")
    print(f"baseline: frozenset subset   {subset_us:8.3f} µs   verdict = {verdict_us / subset_us:,.0f}×")
    print(f"baseline: bare Verdict model {model_us:8.2f} µs   verdict = {verdict_us / model_us:.2f}×")
    return 0  # a figure to read, not a timed test: a busy machine must not fail the run


if __name__ == "__main__":
    sys.exit(main())
