"""The evidence report over a long log: events/s against `audit verify` on the same log (the report
verifies the whole chain, then streams the export once), and peak memory at two log sizes — streaming
means the peak must not grow with the log (only with the number of distinct groups in the tables)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import figure

from polyroute.audit import AuditStore, EventDraft, open_store
from polyroute.audit.witness import verify_store
from polyroute.report import build_report
from polyroute.residency import Policy
from polyroute.settings import Settings, load_settings
from polyroute.types import Usage

SIZES = (10_000, 40_000)


def _pair(n: int) -> tuple[EventDraft, EventDraft]:
    """One routed call: its intent and its completion (a few principals, providers and models)."""
    common = EventDraft(
        event_type="intent", principal=f"user-{n % 7}", tool="complete", jurisdiction="SA",
        data_class="personal", policy_version="sha256:" + "ab" * 32, deployment=f"dep-{n % 5}",
        provider=f"p{n % 3}", model=f"m{n % 4}", allowed=True,
    )  # fmt: skip
    intent = common.model_copy(update={"details": {"candidates": [{"deployment": f"dep-{n % 5}"}]}})
    done = common.model_copy(update={
        "event_type": "completion", "usage": Usage(input_tokens=1200, output_tokens=300),
        "estimated_cost_usd": Decimal("0.0081"), "cost_usd": Decimal("0.0079"), "inference_geo": "SA",
        "details": {"processing_locations": ["SA"], "attempts": [{}]},
    })  # fmt: skip
    return intent, done


async def _fill(store: AuditStore, events: int) -> None:
    for n in range(events // 2):
        intent, done = _pair(n)
        done.intent_id = store.append_later(intent)  # the outcome names its intent, as the dispatcher's do
        store.append_later(done)
    await store.tail(1)  # reads wait for queued appends


async def _measure(settings: Settings, policy: Policy, events: int) -> tuple[float, float, float]:
    """(report events/s, verify events/s, report peak MiB) on a fresh log of `events` events."""
    store = open_store(settings)
    await _fill(store, events)
    start = time.perf_counter()
    verified = await verify_store(store, settings)
    verify_rate = verified.events_checked / (time.perf_counter() - start)
    start = time.perf_counter()
    report = await build_report(store, settings, policy)
    report_rate = report.totals.events / (time.perf_counter() - start)
    tracemalloc.start()
    await build_report(store, settings, policy)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    await store.aclose()
    assert verified.ok and report.chain.verified and report.totals.events == events, report.chain
    return report_rate, verify_rate, peak


async def main() -> int:
    peaks: list[float] = []
    for events in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(POLYROUTE_DATA_DIR=tmp, POLYROUTE_AUDIT_WITNESS=f"{tmp}/w/witness.json")
            settings = load_settings()
            from polyroute.residency import load_policy

            report_rate, verify_rate, peak = await _measure(settings, load_policy(settings), events)
        peaks.append(peak)
        print(f"{events:>7,} events: report {report_rate:,.0f} events/s, audit verify {verify_rate:,.0f} "
              f"events/s (ratio {report_rate / verify_rate:.2f}), peak {peak:.1f} MiB")  # fmt: skip
        figure(f"report over {events:,} events", report_rate, "events/s", baseline=verify_rate,
               baseline_name="audit verify, same log", better="higher")  # fmt: skip
    growth = peaks[-1] / peaks[0]
    print(
        f"peak memory at {SIZES[-1]:,} vs {SIZES[0]:,} events: x{growth:.2f} (streaming: should stay near 1)"
    )
    figure("report peak memory growth (4x the events)", growth, "ratio", target="< 1.5", met=growth < 1.5)
    return 0 if growth < 1.5 else 1


if __name__ == "__main__":
    sys.exit(anyio.run(main))
