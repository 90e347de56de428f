"""Usage calibration: the input tokens completed calls really used move later offline estimates.

Why: a model with no public tokenizer (Claude, sovereign and open models, an unmapped OpenAI name) is
quoted by `heuristic` with a band wide enough for any traffic. Once routed calls to it complete, the
provider's usage says what the requests really counted; the ratio actual / estimated input tokens,
per model, says how far the heuristic is off for the traffic this installation sends. From
`MIN_CALLS` calls on, a quote for that model scales the heuristic count by the median ratio of the
last `WINDOW` calls (older calls drop out: the median decays) and takes the robust spread of those
ratios as its band (`fit`), widened for few calls and never below `FLOOR_BAND`; the quote says how
many calls it rests on (`calibrated_calls`). Median and median absolute deviation make one odd call
(an image, a wrong usage) move nothing; ratios outside [1/`RATIO_LIMIT`, `RATIO_LIMIT`] are set
aside, not clamped.

What is learned: completions whose chosen deployment was counted by the heuristic (an exact tokenizer
count has nothing to learn), the receipt's `details.token_counts` for that deployment's counting key
(the plan's raw heuristic count, never a calibrated one: routing does not calibrate, so learning does
not feed on itself), against the whole input the provider reported (uncached + cache reads + cache
writes, see `types.Usage`). Per model, not per script: receipts do not record the script. Text the
heuristic prices as unusual (its band widened for base64, other scripts, repeats) is not calibrated:
ordinary traffic says nothing about it.

Where: the process that routes learns each completion as its receipt is queued (`learn`: a dict
lookup and a deque append, off the provider's path). Any process seeds once, when it first calibrates
a quote, from the last `SEED_LIMIT` completion receipts the audit log held before it began learning
(one bounded read; what it learns live is later, so no call counts twice). Nothing is persisted: the
log is the truth, and a restart reads it again.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from polyroute import tokenizer
from polyroute.tokencount import TokenCount, counting_key

if TYPE_CHECKING:
    from polyroute.audit import AuditStore, EventDraft
    from polyroute.catalog import Catalog, Deployment
    from polyroute.types import Usage

log = logging.getLogger("polyroute.usagecalibration")

WINDOW = 50
"""Calls kept per model, newest last: the median forgets older traffic as new calls arrive."""
MIN_CALLS = 5
"""Calls a model needs before its quotes are calibrated (fewer: the heuristic stands alone)."""
FLOOR_BAND = 0.05
"""The narrowest band a calibrated quote gives: even a steady ratio is a sample, not a tokenizer."""
RATIO_LIMIT = 8.0
"""A ratio beyond 8× either way is not a tokenizer difference (an uncounted image, a cached tool
prompt, a wrong usage report): set aside."""
SPREAD_Z = 2.5
"""Robust standard deviations a calibrated band spans (±2.5σ holds 98.8 % of a normal spread)."""
SEED_LIMIT = 1000
"""Completion receipts read from the audit log when a process seeds (newest first, one query)."""


class Fit(NamedTuple):
    """What a model's observed calls say: multiply the heuristic by `ratio`, within ±`band`."""

    ratio: float
    band: float
    calls: int


def fit(ratios: Iterable[float]) -> Fit | None:
    """The median ratio and the band its calls span (None below `MIN_CALLS` calls).

    The band is `SPREAD_Z` robust standard deviations (1.4826 × the median absolute deviation) of the
    ratios, relative to the median, widened by (n+1)/(n−1) for a small sample: one wild call moves
    neither the centre nor the band, as it would a mean or a min–max range."""
    values = list(ratios)
    n = len(values)
    if n < MIN_CALLS:
        return None
    middle = statistics.median(values)
    deviation = statistics.median(abs(value - middle) for value in values)
    spread = SPREAD_Z * 1.4826 * deviation / middle
    band = min(0.95, max(FLOOR_BAND, spread * (n + 1) / (n - 1)))
    return Fit(middle, math.ceil(band * 1000) / 1000, n)


def whole_input(usage: Usage) -> int:
    """The request's whole input as the provider counted it (uncached + cache reads + cache writes)."""
    return usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens


class UsageCalibration:
    """Per-model ratios of real to estimated input tokens, learned from completions (thread-safe)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._ratios: dict[str, deque[float]] = {}
        self._fits: dict[str, Fit | None] = {}
        self._learnable: dict[str, tuple[str, str] | None] = {}
        self._lock = threading.Lock()
        self.started = datetime.now(UTC)
        self.seeded = False

    def observe(self, model: str, estimated: int, actual: int) -> bool:
        """Record one completed call's counts; False when they say nothing about the tokenizer."""
        if estimated <= 0 or actual <= 0:
            return False
        ratio = actual / estimated
        if not 1 / RATIO_LIMIT <= ratio <= RATIO_LIMIT:
            return False
        self._add(model, ratio)
        return True

    def _add(self, model: str, ratio: float) -> None:
        with self._lock:
            kept = self._ratios.get(model)
            if kept is None:
                kept = self._ratios[model] = deque(maxlen=WINDOW)
            kept.append(ratio)
            self._fits.pop(model, None)

    def learn(self, event: EventDraft) -> bool:
        """Learn from a `completion` receipt (a draft being queued, or one read back); never raises:
        a receipt it cannot read teaches nothing, and the call it records has already succeeded."""
        try:
            found = self._observation(event)
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        return found is not None and self.observe(*found)

    def _observation(self, event: EventDraft) -> tuple[str, int, int] | None:
        if event.event_type != "completion" or event.usage is None or event.deployment is None:
            return None
        if event.deployment not in self._learnable:
            self._learnable[event.deployment] = self._model_and_key(event.deployment)
        learnable = self._learnable[event.deployment]
        if learnable is None:
            return None
        counts = cast(dict[str, Any], event.details.get("token_counts") or {})
        estimated = counts.get(learnable[1])
        if not isinstance(estimated, int):
            return None
        return learnable[0], estimated, whole_input(event.usage)

    def _model_and_key(self, deployment_id: str) -> tuple[str, str] | None:
        """(model, counting key) of a deployment counted by the heuristic; None when it is gone from the
        catalog or counted exactly (nothing to learn). Cached per deployment by `_observation`."""
        deployment = self._catalog.find(deployment_id)
        if deployment is None or tokenizer.encoding_for_model(deployment.model) is not None:
            return None
        return deployment.model, counting_key(deployment)

    def fit(self, model: str) -> Fit | None:
        """The model's current fit (cached until its next call is learned)."""
        with self._lock:
            if model not in self._fits:
                kept = self._ratios.get(model)
                self._fits[model] = fit(kept) if kept else None
            return self._fits[model]

    def adjust(self, deployment: Deployment, count: TokenCount) -> TokenCount:
        """`count` moved by the model's observed calls, when it is an ordinary heuristic count and the
        model has `MIN_CALLS` of them; otherwise `count` unchanged."""
        if count.method != "heuristic" or count.tokens <= 0 or "+unusual" in count.tokenizer:
            return count
        found = self.fit(deployment.model)
        if found is None:
            return count
        described = f"{count.tokenizer}, calibrated ×{found.ratio:.3f} from {found.calls} calls"
        return count.model_copy(
            update={
                "tokens": max(1, round(count.tokens * found.ratio)),
                "error_band": found.band,
                "tokenizer": described,
                "calibrated_calls": found.calls,
            }
        )

    def seed_from(self, events: Iterable[EventDraft]) -> int:
        """Learn receipts read from the log (newest first), behind any call already learned live."""
        live = self._drain()
        learned = sum(self.learn(event) for event in reversed(list(events)))
        for model, ratios in live.items():
            for ratio in ratios:
                self._add(model, ratio)
        return learned

    def _drain(self) -> dict[str, list[float]]:
        with self._lock:
            live = {model: list(kept) for model, kept in self._ratios.items()}
            self._ratios.clear()
            self._fits.clear()
        return live

    async def seed(self, store: AuditStore) -> int:
        """Seed once from the log's last `SEED_LIMIT` completions before this process began learning.
        A log that cannot be read leaves the quotes uncalibrated (logged), never fails them."""
        if self.seeded:
            return 0
        self.seeded = True
        from polyroute.audit import EventQuery
        from polyroute.errors import PolyrouteError

        started = time.perf_counter()
        query = EventQuery(event_type="completion", until=self.started, limit=SEED_LIMIT)
        try:
            events = await store.query(query)
        except (PolyrouteError, OSError) as error:
            log.warning("usage calibration not seeded: the audit log could not be read (%s)", error)
            return 0
        learned = self.seed_from(events)
        log.debug("usage calibration seeded from %d of %d receipts in %.1f ms", learned, len(events),
                  (time.perf_counter() - started) * 1000)  # fmt: skip
        return learned


__all__ = [
    "FLOOR_BAND",
    "MIN_CALLS",
    "RATIO_LIMIT",
    "SEED_LIMIT",
    "SPREAD_Z",
    "WINDOW",
    "Fit",
    "UsageCalibration",
    "fit",
    "whole_input",
]
