"""Benchmark: replaying receipts in a what-if simulation, against the plain routing decision rate.

A log is recorded through the real router over the bundled catalog (real SDKs against the loopback
fakes, real SQLite store): a few hundred routed calls over several jurisdictions, classes and strategies,
then copied (intent + outcome, re-appended through the store) up to RECEIPTS receipts. Measured in the
same run:
1. `simulate` end to end (verify the chain and signed heads, stream the export, replay every receipt
   under today's and a tightened policy, build the report): receipts/s.
2. The replay alone (export lines already read): receipts/s — the target, ≥ 20,000/s.
3. The baseline: plain routing decisions per second (`Router.decide` on a resolved request, the
   decision bench_routing measures), so the ratio says what a replay costs against one decision.
Run: `.venv/bin/python tests/bench/bench_simulation.py` (or `scripts/bench bench_simulation`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from polyroute.app import App
from polyroute.audit import EventDraft, EventQuery
from polyroute.errors import PolyrouteError
from polyroute.routing import RouteRequest, RoutingInput, Strategy
from polyroute.settings import Settings
from polyroute.simulation import Proposal, Replay, Window, scenarios, simulate, verified
from polyroute.testing import FakeProviders
from polyroute.types import CompletionRequest

try:
    from benchkit import figure  # pyright: ignore[reportMissingImports, reportUnknownVariableType]
except ImportError:  # the lead's benchkit is not on this branch: print only

    def figure(*_: Any, **__: Any) -> None:  # pyright: ignore[reportRedeclaration]
        return None


RECEIPTS = int(os.environ.get("BENCH_RECEIPTS", "50000"))
TARGET = 20_000
CASES = [(None, None), ("EU", "personal"), ("US", "personal"), ("AE", "internal"), ("GB", "health"),
         ("SA", "personal"), ("EU", "confidential"), (None, "public")]  # fmt: skip
STRATEGIES: list[Strategy] = ["cheapest", "balanced", "fastest", "best"]
TIGHTENED = """
[[rules]]
jurisdiction = "EU"
data_classes = ["personal", "confidential"]
allowed = ["DE", "FR", "IE"]
source = "bench proposal"

[[rules]]
jurisdiction = "US"
data_classes = ["personal"]
allowed = ["US"]
requirements = { providers_deny = ["openai"] }
source = "bench proposal"
"""


def request(n: int) -> RouteRequest:
    jurisdiction, data_class = CASES[n % len(CASES)]
    prompt = "Summarise this support ticket and suggest a next step. " + "The parcel was late. " * (
        1 + n % 40
    )
    return RouteRequest(
        request=CompletionRequest.from_prompt(prompt, max_tokens=100 + 50 * (n % 7)),
        jurisdiction=jurisdiction, data_class=data_class, strategy=STRATEGIES[n // len(CASES) % 4],
        principal=f"user-{n % 9}", tool="bench",
    )  # fmt: skip


async def record(app: App, calls: int) -> None:
    for n in range(calls):
        with contextlib.suppress(PolyrouteError):
            await app.router.complete(request(n))


async def copy_up_to(app: App, receipts: int) -> int:
    """Re-append copies of the recorded calls (intent, then its outcome naming the copy) until `receipts`."""
    store = app.audit
    events = list(reversed(await store.query(EventQuery(limit=10_000))))
    intents = {e.id: e for e in events if e.event_type == "intent"}
    outcomes = [e for e in events if e.event_type in ("completion", "failure", "refusal")]
    drop = {"seq", "id", "time", "prev_hash", "hash", "intent_id", "intent_seq"}
    total = len(outcomes)
    while total < receipts:
        for outcome in outcomes:
            intent = intents.get(outcome.intent_id or "")
            link: dict[str, Any] = {}
            if intent is not None:
                link["intent_id"] = store.append_later(EventDraft(**intent.model_dump(exclude=drop)))
            store.append_later(EventDraft(**_varied(outcome.model_dump(exclude=drop), total), **link))
            total += 1
            if total >= receipts:
                break
        await store.tail(1)  # reads wait for what this process queued: commit as we go
    return total


def _varied(fields: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy whose token counts differ from every other copy's, so no two receipts share their facts."""
    details = dict(fields["details"])
    scale = 1 + (n % 997) / 1000
    details["token_counts"] = {k: int(v * scale) + 1 for k, v in (details.get("token_counts") or {}).items()}
    details["input_tokens"] = int((details.get("input_tokens") or 0) * scale) + 1
    return {**fields, "details": details}


def decision_rate(app: App) -> float:
    resolved = [RoutingInput(app.router, request(n)) for n in range(len(CASES) * 4)]
    for r in resolved:
        app.router.decide(r)
    rounds, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for r in resolved:
            app.router.decide(r)
        rounds += len(resolved)
    return rounds / (time.perf_counter() - start)


async def replay_rate(app: App, proposal: Proposal) -> tuple[float, int]:
    head = (await verified(app)).head_seq or 0
    lines = [line async for line in app.audit.export_lines()]
    samples: list[float] = []
    calls = 0
    for _ in range(3):
        baseline, proposed = scenarios(app, proposal)
        replay = Replay(app.settings, baseline, proposed, Window())
        start = time.perf_counter()
        for line in lines:
            replay.feed(line, head)
        replay.finish(head)
        samples.append(time.perf_counter() - start)
        calls = replay.builder.total.calls
    return calls / statistics.median(samples), calls


async def main() -> None:
    with FakeProviders() as fakes, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(fakes.env())
        policy = Path(tmp, "tight.toml")
        policy.write_text(TIGHTENED)
        app = App(Settings(data_dir=Path(tmp, "data")), principal="bench")
        await record(app, 400)
        receipts = await copy_up_to(app, RECEIPTS)
        proposal = Proposal(policy=policy)
        start = time.perf_counter()
        report = await simulate(app, proposal, Window())
        end_to_end = report.summary.calls / (time.perf_counter() - start)
        replay, calls = await replay_rate(app, proposal)
        decisions = decision_rate(app)
        await app.aclose()
    s = report.summary
    print(f"log: {receipts} receipts ({report.log.events_read} events) over {len(app.catalog)} deployments")
    print(
        f"  changes under the tightened policy: {s.unchanged} unchanged, {s.rerouted} rerouted, "
        f"{s.newly_refused} newly refused, {s.newly_allowed} newly allowed; drift {s.replay_differs_from_log}"
    )
    print(f"simulate end to end (verify + stream + replay + report): {end_to_end:9,.0f} receipts/s")
    print(
        f"replay alone ({calls} receipts, two scenarios each):     {replay:9,.0f} receipts/s "
        f"(target ≥ {TARGET:,}: {'met' if replay >= TARGET else 'NOT met'})"
    )
    print(f"baseline: plain routing decisions (Router.decide):      {decisions:9,.0f} decisions/s")
    print(f"  ratio replay / decision: {replay / decisions:.1f}×; end to end: {end_to_end / decisions:.1f}×")
    print("(2 shared cores; other engineers' jobs were running: figures are noisy)")
    figure("simulation replay", replay, "receipts/s", baseline=decisions, baseline_name="routing decisions/s",
           target=f">= {TARGET} receipts/s", met=replay >= TARGET, better="higher")  # fmt: skip
    figure("simulation end to end", end_to_end, "receipts/s", baseline=decisions,
           baseline_name="routing decisions/s", better="higher")  # fmt: skip


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
