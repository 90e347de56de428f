"""Benchmark: what telemetry costs a routed `complete` — off (the default no-op) and on (OpenTelemetry).

1. Off: the no-op hooks one routed call runs (enter/exit, planned, one attempt, tried, end, one timed
   append, finished), timed alone: this is all telemetry adds to a call when it is off. Target ~0
   (well under 1% of a routed call).
2. Routed `complete` off vs on (OpenTelemetry SDK: spans to an in-memory exporter through a simple
   processor, metrics to an in-memory reader) vs the raw openai SDK call on the same loopback fake,
   interleaved in blocks (bench_routing's harness).
Run: `.venv/bin/python tests/bench/bench_telemetry.py` (or `scripts/bench bench_telemetry`).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

from bench_routing import PROMPT, bench_app, interleaved, route
from benchkit import figure, require

from polyroute.dispatch import dispatch
from polyroute.telemetry import NOOP
from polyroute.testing import DUMMY_KEYS, FakeProviders


def noop_hooks_ns(rounds: int = 200_000) -> float:
    """Per-call cost of every no-op hook the dispatcher calls on one successful routed call."""
    trace_of, candidate = NOOP.call, object()
    start = time.perf_counter_ns()
    for _ in range(rounds):
        with trace_of(None, None) as trace:  # type: ignore[arg-type]
            trace.planned(None)  # type: ignore[arg-type]
            with trace.appending("intent") as timed:
                timed.done(1)
            attempt = trace.attempt(candidate, 0)  # type: ignore[arg-type]
            attempt.tried((), None, None)
            attempt.end()
            trace.finished(None, None)  # type: ignore[arg-type]
    return (time.perf_counter_ns() - start) / rounds


def otel_on() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from polyroute.telemetry.otel import OtelTelemetry

    tracer_provider = TracerProvider()
    exporter = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = OtelTelemetry(tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return telemetry, exporter


async def measure(fakes: FakeProviders, rounds: int) -> dict[str, list[float]]:
    from openai import AsyncOpenAI

    app, request = bench_app(fakes), route("EU", "personal", strategy="cheapest")
    raw = AsyncOpenAI(base_url=f"{fakes.openai.url}/v1", api_key=DUMMY_KEYS["OPENAI_API_KEY"], max_retries=0)
    on, exporter = otel_on()
    messages: Any = [{"role": "user", "content": PROMPT}]

    async def traced() -> object:
        result = await dispatch(app.router, request, telemetry=on)
        exporter.clear()  # keep memory flat; export cost is the collector's, not measured here
        return result

    calls = {
        "raw": lambda: raw.chat.completions.create(
            model="bench-local-model", messages=messages, max_tokens=300
        ),
        "off": lambda: dispatch(app.router, request, telemetry=NOOP),
        "on": traced,
    }
    try:
        await dispatch(app.router, request)
        return await interleaved(calls, rounds)
    finally:
        await raw.close()
        await app.aclose()


def main() -> None:
    require("opentelemetry.sdk", why="the telemetry-on figure needs the otel extra")
    hooks = noop_hooks_ns()
    with FakeProviders() as fakes:
        for name, value in fakes.env().items():
            os.environ[name] = value
        samples = asyncio.run(measure(fakes, int(os.environ.get("BENCH_ROUNDS", "300"))))
    med = {name: statistics.median(values) for name, values in samples.items()}
    off_added, on_added = med["off"] - med["raw"], med["on"] - med["raw"]
    figure(
        "telemetry off: no-op hooks per routed call", hooks / 1e3, "µs",
        baseline=med["off"] * 1e3, baseline_name="routed complete (off)", target="~0 (< 1% of a call)",
        met=hooks / 1e3 < med["off"] * 1e3 / 100,
    )  # fmt: skip
    figure("routed complete, telemetry off, added over raw SDK", off_added, "ms",
           samples=[v - med["raw"] for v in samples["off"]])  # fmt: skip
    on_samples = [v - med["raw"] for v in samples["on"]]
    figure("routed complete, telemetry on, added over raw SDK", on_added, "ms",
           samples=on_samples, baseline=off_added, baseline_name="off")  # fmt: skip
    print(
        f"no-op hooks: {hooks:.0f} ns per call; medians: raw {med['raw']:.3f} ms, routed off "
        f"{med['off']:.3f} ms, routed on {med['on']:.3f} ms (on - off {med['on'] - med['off']:+.3f} ms)"
    )


if __name__ == "__main__":
    main()
