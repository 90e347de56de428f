"""Benchmark: the routing decision, and the overhead a routed call adds to a raw SDK call.

1. Routing decision (filter, price, rank, cached verdicts) over the bundled catalog and over a
   synthetic 500-deployment one; token counting (once per tokenizer family) is reported apart, and
   a naive decision (`cost.quote_request` + `policy.check` per deployment) is the baseline.
   Target: ≤ 250 µs over 500 deployments.
2. Routed `complete` (decision + durable intent + call + settle + queued outcome) vs the raw openai SDK
   call against the same loopback fake, interleaved, and LiteLLM's Router against the same fake in the
   same run.
   Targets: ≤ 0.6 ms added median, ≤ 1/4 of LiteLLM Router's added overhead.
Run: `.venv/bin/python tests/bench/bench_routing.py` (or `scripts/bench bench_routing`);
`BENCH_SECTION=decision` runs the routing decision alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # LiteLLM: the bundled cost map, no network

from benchkit import cpu_seconds, figure, require
from routing_inputs import naive, synthetic

from polyroute.app import App
from polyroute.audit import EventDraft
from polyroute.catalog import Catalog, load_catalog
from polyroute.providers import call_with_retries
from polyroute.routing import RouteRequest, RoutingInput
from polyroute.settings import Settings
from polyroute.testing import DUMMY_KEYS, FakeProviders
from polyroute.types import CompletionRequest

PROMPT = (
    "Summarise the customer's complaint below in two sentences and suggest one next step. "
    "The parcel arrived late, the box was damaged and the invoice listed the wrong delivery address; "
    "support did not answer the first two emails."
)
CASES = (("SA", "personal"), ("EU", "personal"), (None, None))  # None: defaulted → public, all eligible


def median_us(action: Callable[[], object], rounds: int = 400) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def route(jurisdiction: str | None, data_class: str | None, **extra: Any) -> RouteRequest:
    request = CompletionRequest.from_prompt(PROMPT, max_tokens=300)
    return RouteRequest(
        request=request, jurisdiction=jurisdiction, data_class=data_class, principal="bench", **extra
    )


def decision_rows(app: App, label: str) -> list[str]:
    rows, worst = [], 0.0
    for jurisdiction, data_class in CASES:
        request = route(jurisdiction, data_class)
        resolved = RoutingInput(app.router, request)
        plan = app.router.decide(resolved)  # warms the verdict cache
        decide = median_us(lambda: app.router.decide(resolved))  # noqa: B023
        count = median_us(lambda: RoutingInput(app.router, request), rounds=200)  # noqa: B023
        total = median_us(lambda: app.router.plan(request), rounds=200)  # noqa: B023
        base = median_us(lambda: naive(app, request), rounds=30)  # noqa: B023
        case = f"{jurisdiction or '-'}/{data_class or 'defaulted'}"
        worst = max(worst, decide)
        rows.append(
            f"  {label:<9} {case:<18} candidates {len(plan.candidates):>3}/{len(app.catalog):<3} decision "
            f"{decide:7.1f} µs | + token counting ({len(resolved.counts)} families) {count:6.1f} µs "
            f"| plan() {total:7.1f} µs | naive {base:8.1f} µs ({base / decide:4.1f}× the decision)"
        )
    limit = 250.0 if label == "500-synth" else None
    figure(
        f"routing decision, {label} catalog (slowest case)", worst, "µs",
        target="≤ 250 µs" if limit else None, met=worst <= limit if limit else None,
    )  # fmt: skip
    return rows


Call = Callable[[], Awaitable[object]]


async def interleaved(
    calls: dict[str, Call],
    rounds: int,
    block: int = 10,
    cpu: dict[str, list[float]] | None = None,
    settle: Call | None = None,
) -> dict[str, list[float]]:
    """Samples in ms per call, in alternating blocks (ten As, ten Bs, ten As …) so drift hits all alike.

    Blocks rather than single alternation: work a call leaves behind (LiteLLM runs its logging callbacks
    as tasks and in threads) then lands on that system's own next call, as it would in a busy server,
    instead of on whichever other system's call comes next. The first block of each is warm-up.
    `cpu` collects the CPU time per call (ms, each block's mean: every thread counts, the audit writer's
    and the in-process fake's too, and the journal process's), which a loaded machine distorts less
    than wall time.
    `settle` (awaited after every block, outside the wall-time samples, inside the block's CPU time)
    waits for work a block queued, so that it is counted to that block and not to the next: a routed
    call's outcome waits for the next call's group commit, and the block's last one would otherwise
    commit (~0.1 ms of CPU per call of the next block) while the next system is being measured.
    """
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for index in range(rounds // block + 1):
        for name, call in calls.items():
            spent = cpu_seconds()
            for _ in range(block):
                start = time.perf_counter()
                await call()
                if index:
                    samples[name].append((time.perf_counter() - start) * 1e3)
            if settle is not None:
                await settle()
            if index and cpu is not None:
                cpu.setdefault(name, []).append((cpu_seconds() - spent) * 1e3 / block)
    return samples


def bench_app(fakes: FakeProviders) -> App:
    """The bundled catalog plus a cheap sovereign endpoint (on the fake) that EU/personal routes to."""
    local = {
        "id": "bench-sovereign-de", "provider": "openai_compatible", "model": "bench-local-model",
        "base_url": f"{fakes.openai.url}/v1", "location": "DE", "capabilities": ["json"],
        "context_window": 32000, "max_output_tokens": 4096,
        "price": {"input_per_mtok": "0.001", "output_per_mtok": "0.002"},
    }  # fmt: skip
    data = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    return App(Settings(data_dir=data, deployments=[local]), principal="bench")


Samples = dict[str, list[float]]


async def overhead(fakes: FakeProviders, rounds: int, cpu: Samples) -> tuple[Samples, Samples]:
    """Phase 1: raw vs routed (and the breakdown); phase 2: raw vs LiteLLM Router. Same run, same fake.

    LiteLLM goes second because its calls leave work behind (logging callbacks on executor threads)
    that slows whatever runs next in the process; in its own phase that work lands on its own raw
    baseline too, which if anything flatters LiteLLM's added overhead.
    """
    from openai import AsyncOpenAI

    app, request = bench_app(fakes), route("EU", "personal", strategy="cheapest")
    messages: Any = [{"role": "user", "content": PROMPT}]
    raw = AsyncOpenAI(base_url=f"{fakes.openai.url}/v1", api_key=DUMMY_KEYS["OPENAI_API_KEY"], max_retries=0)
    first = await app.router.complete(request)
    stored = await app.audit.get(first.receipt_id)
    assert first.deployment == "bench-sovereign-de" and stored is not None
    receipt = EventDraft(event_type="completion", principal="bench", details=stored.details)
    deployment = app.catalog.get(first.deployment)

    async def plan_only() -> None:
        app.router.plan(request)

    def raw_call() -> Awaitable[object]:
        return raw.chat.completions.create(model="bench-local-model", messages=messages, max_tokens=300)

    ours: dict[str, Call] = {
        "raw": raw_call,
        "routed": lambda: app.router.complete(request),
        "adapter": lambda: call_with_retries(app.providers, deployment, request.request),  # breakdown
        "plan": plan_only,  # breakdown: decision + token counting
        "receipt": lambda: app.audit.append(receipt),  # breakdown: one durable receipt-sized append
    }
    try:
        mine = await interleaved(ours, rounds, cpu=cpu, settle=app.audit.latest_head)  # every block alike
        theirs = await interleaved({"raw": raw_call, "litellm": litellm_call(fakes, messages)}, rounds)
        return mine, theirs
    finally:
        await raw.close()
        await app.aclose()


async def commits_per_call(fakes: FakeProviders, calls: int = 200) -> tuple[int, int, float]:
    """(events, commits, writer-thread CPU µs per commit) for `calls` sequential routed calls on a fresh
    store (after one warm-up call that opens it): each call journals its intent and queues its outcome;
    group commits off the calls' path should chain those of many calls at once."""
    import sqlite3

    app, request = bench_app(fakes), route("EU", "personal", strategy="cheapest")
    path = app.settings.data_dir / "audit.db"

    def counts() -> tuple[int, int]:
        with contextlib.closing(sqlite3.connect(path)) as db:
            events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            return int(events), int(db.execute("SELECT COUNT(*) FROM heads").fetchone()[0])

    try:
        await app.router.complete(request)
        await app.audit.latest_head()  # the warm-up call's queued outcome committed too
        writer = next(t for t in threading.enumerate() if t.name == "polyroute-audit-writer")
        clock = time.pthread_getcpuclockid(writer.ident or 0)
        (events_before, commits_before), cpu_before = counts(), time.clock_gettime(clock)
        for _ in range(calls):
            await app.router.complete(request)
        await app.audit.latest_head()
        cpu = time.clock_gettime(clock) - cpu_before
    finally:
        await app.aclose()
    events, commits = counts()
    commits -= commits_before
    return events - events_before, commits, cpu * 1e6 / max(commits, 1)


def litellm_call(fakes: FakeProviders, messages: Any) -> Call:
    """LiteLLM's Router with one deployment on the same fake (imported only now: ~2.7 s)."""
    lite_router: Any = require("litellm.router", why="LiteLLM's Router is the routed-call overhead's peer")

    params = {"model": "openai/bench-local-model", "api_base": f"{fakes.openai.url}/v1", "api_key": "sk-fake"}
    lite = lite_router.Router(model_list=[{"model_name": "bench", "litellm_params": params}], num_retries=0)
    return lambda: lite.acompletion(model="bench", messages=messages, max_tokens=300)


def decision_section() -> None:
    with tempfile.TemporaryDirectory() as data:
        bundled = App(Settings(data_dir=Path(data)), principal="bench")
        big = App(Settings(data_dir=Path(data)), principal="bench")
        big.catalog = Catalog(load_catalog(synthetic(500), bundled=False))
        print("routing decision (filter, price, rank, cached verdicts), medians:")
        for line in decision_rows(bundled, "bundled") + decision_rows(big, "500-synth"):
            print(line)
        print("  target: decision ≤ 250 µs over 500 deployments")


def overhead_section() -> None:
    with FakeProviders() as fakes:
        for name, value in fakes.env().items():
            os.environ[name] = value
        cpu: Samples = {}
        rounds = int(os.environ.get("BENCH_ROUNDS", "300"))
        mine, others = asyncio.run(overhead(fakes, rounds=rounds, cpu=cpu))
        events, commits, writer_cpu = asyncio.run(commits_per_call(fakes))
    ours = {name: statistics.median(values) for name, values in mine.items()}
    theirs = {name: statistics.median(values) for name, values in others.items()}
    raw, routed, lite_raw, lite = ours["raw"], ours["routed"], theirs["raw"], theirs["litellm"]
    added, lite_added = routed - raw, lite - lite_raw
    figure("raw openai SDK call (baseline)", raw, "ms", samples=mine["raw"])
    figure(
        "routed complete, added over the raw SDK call", added, "ms",
        samples=[v - raw for v in mine["routed"]],
        baseline=lite_added, baseline_name="LiteLLM Router added", target="≤ 0.6 ms and ≤ 0.25× LiteLLM",
        met=added <= 0.6 and added <= lite_added / 4,
    )  # fmt: skip
    lite_samples = [v - lite_raw for v in others["litellm"]]
    figure("LiteLLM Router, added over the raw SDK call", lite_added, "ms", samples=lite_samples)
    print("routed complete vs raw SDK call on the same fake (blocks of 10 alternating, medians; two phases):")
    print(
        f"  polyroute routed        {routed:6.3f} ms vs raw openai SDK {raw:6.3f} ms: added {added:6.3f} ms "
        "(target ≤ 0.6 ms), durable intent included (outcome queued for group commit)"
    )
    print(
        f"  200 sequential routed calls: {events} audit events in {commits} commits "
        f"({commits / 200:.2f} chained commits per call; a lone call's intent is one journal row, "
        f"written while the SDK builds the request, which leaves once the row is durable); the audit "
        f"writer thread spent "
        f"{writer_cpu:.0f} µs CPU per commit"
    )
    print(
        f"  LiteLLM Router          {lite:6.3f} ms vs raw openai SDK {lite_raw:6.3f} ms: "
        f"added {lite_added:6.3f} ms"
    )
    ratio = added / lite_added if lite_added > 0 else float("inf")
    print(f"  polyroute added / LiteLLM added = {ratio:.2f} (target ≤ 0.25)")
    spent = {name: statistics.median(values) for name, values in cpu.items()}
    added_cpu = spent["routed"] - spent["raw"]
    figure(
        "routed complete, added CPU time per call",
        added_cpu,
        "ms",
        samples=[v - spent["raw"] for v in cpu["routed"]],
    )
    print(
        f"  CPU per call (process and journal process): routed {spent['routed']:.3f} ms, "
        f"raw {spent['raw']:.3f} ms, "
        f"added {added_cpu:.3f} ms; durable receipt-sized append {spent['receipt']:.3f} ms; "
        f"adapter call {spent['adapter'] - spent['raw']:+.3f} ms vs raw"
    )
    adapter, plan, receipt = ours["adapter"], ours["plan"], ours["receipt"]
    print(
        f"  breakdown (each its own median, so they need not add up): adapter call {adapter:.3f} ms "
        f"({adapter - raw:+.3f} vs raw), plan() {plan:.3f} ms, durable receipt-sized append {receipt:.3f} ms"
    )


def main() -> None:
    if os.environ.get("BENCH_SECTION") == "decision":  # the routing decision alone: no LiteLLM, seconds
        decision_section()
        return
    require("litellm.router", why="LiteLLM's Router is the routed-call overhead's peer")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}"
    )
    # The call overhead first, in a fresh process: state left by the other section (a 500-deployment
    # catalog and its caches; LiteLLM's ~400k objects) measurably slows whatever runs after it.
    overhead_section()
    gc.collect()
    gc.freeze()  # LiteLLM's objects out of the collector's way for the decision timings
    decision_section()


if __name__ == "__main__":
    main()
