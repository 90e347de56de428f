"""Deployment health: circuit breakers, latency EWMA and capacity (requests / tokens per minute).

This state is per process and advisory: it decides what to *try first* and what to skip for a while,
never what is allowed. Losing it (a restart, another replica) costs at most a few failed attempts,
so it may live in memory (DESIGN §5 asks that correctness never depend on in-process state; this
is an optimisation, not a guarantee). The clock is injectable so tests can move time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from polyroute.catalog import Deployment

Clock = Callable[[], float]
BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerConfig:
    """When a breaker opens, and how long it stays open before one probe may pass."""

    consecutive_failures: int = 5
    window: int = 20  # recent outcomes considered for the failure rate
    min_samples: int = 10
    failure_rate: float = 0.5
    cooldown_s: float = 30.0
    ewma_alpha: float = 0.2


@dataclass
class _Breaker:
    state: BreakerState = "closed"
    consecutive: int = 0
    outcomes: deque[bool] = field(default_factory=lambda: deque[bool]())
    opened_at: float = 0.0
    probing: bool = False
    latency_ms: float | None = None


@dataclass
class _Usage:
    events: deque[tuple[float, int]] = field(default_factory=lambda: deque[tuple[float, int]]())
    tokens: int = 0


class Health:
    """Breakers, latency estimates and capacity counters for every deployment, shared in a process."""

    def __init__(self, config: BreakerConfig | None = None, *, clock: Clock = time.monotonic) -> None:
        self.config = config or BreakerConfig()
        self.clock = clock
        self._breakers: dict[str, _Breaker] = {}
        self._usage: dict[str, _Usage] = {}
        self._lock = threading.Lock()

    def _breaker(self, deployment_id: str) -> _Breaker:
        breaker = self._breakers.get(deployment_id)
        if breaker is None:
            breaker = self._breakers[deployment_id] = _Breaker()
        return breaker

    def state(self, deployment_id: str) -> BreakerState:
        """The breaker's state now (an open breaker past its cooldown reads as half-open)."""
        breaker = self._breakers.get(deployment_id)
        if breaker is None:
            return "closed"
        if breaker.state == "open" and self.clock() - breaker.opened_at >= self.config.cooldown_s:
            return "half_open"
        return breaker.state

    def blocked(self, deployment_id: str) -> str | None:
        """Why this deployment should not be tried now, or None. Does not claim the probe."""
        if deployment_id not in self._breakers:
            return None
        state = self.state(deployment_id)
        if state == "open":
            left = self.config.cooldown_s - (self.clock() - self._breakers[deployment_id].opened_at)
            return f"circuit open after repeated failures (retry in {left:.0f}s)"
        if state == "half_open" and self._breakers[deployment_id].probing:
            return "circuit half-open: a probe request is already in flight"
        return None

    def acquire(self, deployment_id: str) -> bool:
        """Claim the right to call: always when closed, once (the probe) when half-open."""
        with self._lock:
            state = self.state(deployment_id)
            if state == "open":
                return False
            if state == "half_open":
                breaker = self._breakers[deployment_id]
                if breaker.probing:
                    return False
                breaker.state, breaker.probing = "half_open", True
            return True

    def release(self, deployment_id: str) -> None:
        """Give back a probe claimed by `acquire` when no call was made after all."""
        with self._lock:
            breaker = self._breakers.get(deployment_id)
            if breaker is not None and breaker.probing:
                breaker.state, breaker.probing = "open", False

    def record_success(self, deployment_id: str, latency_ms: float) -> None:
        with self._lock:
            breaker = self._breaker(deployment_id)
            breaker.state, breaker.probing, breaker.consecutive = "closed", False, 0
            self._push(breaker, True)
            alpha = self.config.ewma_alpha
            previous = breaker.latency_ms
            breaker.latency_ms = (
                latency_ms if previous is None else alpha * latency_ms + (1 - alpha) * previous
            )

    def record_failure(self, deployment_id: str) -> None:
        """A failed call (after the provider layer's retries); may open the breaker."""
        with self._lock:
            breaker = self._breaker(deployment_id)
            breaker.consecutive += 1
            self._push(breaker, False)
            if breaker.state == "half_open" or self._should_open(breaker):
                breaker.state, breaker.opened_at, breaker.probing = "open", self.clock(), False

    def _push(self, breaker: _Breaker, ok: bool) -> None:
        breaker.outcomes.append(ok)
        while len(breaker.outcomes) > self.config.window:
            breaker.outcomes.popleft()

    def _should_open(self, breaker: _Breaker) -> bool:
        if breaker.consecutive >= self.config.consecutive_failures:
            return True
        samples = len(breaker.outcomes)
        failures = sum(1 for ok in breaker.outcomes if not ok)
        return samples >= self.config.min_samples and failures / samples >= self.config.failure_rate

    def tracked(self) -> list[str]:
        """The deployments with a breaker or an observed latency: for every other one `blocked` is
        None and `latency_ms` the catalog's prior (so a routing decision asks only about these)."""
        with self._lock:
            return list(self._breakers)

    def latency_ms(self, deployment: Deployment) -> float:
        """Latency estimate: the EWMA of observed calls, else the catalog's prior."""
        breaker = self._breakers.get(deployment.id)
        if breaker is None or breaker.latency_ms is None:
            return deployment.latency_prior_ms
        return breaker.latency_ms

    def capacity_blocked(self, deployment: Deployment, tokens: int) -> str | None:
        """Why this request would take the deployment past its per-minute limits, or None."""
        limits = deployment.limits
        if limits.requests_per_minute is None and limits.tokens_per_minute is None:
            return None
        with self._lock:
            usage = self._window(deployment.id)
            if limits.requests_per_minute is not None and len(usage.events) + 1 > limits.requests_per_minute:
                return f"at its limit of {limits.requests_per_minute} requests per minute"
            if limits.tokens_per_minute is not None and usage.tokens + tokens > limits.tokens_per_minute:
                return f"{usage.tokens} + {tokens} tokens would exceed {limits.tokens_per_minute} per minute"
        return None

    def record_use(self, deployment: Deployment, tokens: int) -> None:
        """Count one request and its tokens against the deployment's per-minute window."""
        if deployment.limits.requests_per_minute is None and deployment.limits.tokens_per_minute is None:
            return
        with self._lock:
            usage = self._window(deployment.id)
            usage.events.append((self.clock(), tokens))
            usage.tokens += tokens

    def capacity_used(self, deployment_id: str) -> tuple[int, int]:
        """(requests, tokens) counted in the last minute, for status pages (the dashboard)."""
        with self._lock:
            usage = self._window(deployment_id)
            return len(usage.events), usage.tokens

    def _window(self, deployment_id: str) -> _Usage:
        usage = self._usage.get(deployment_id)
        if usage is None:
            usage = self._usage[deployment_id] = _Usage()
        horizon = self.clock() - 60.0
        while usage.events and usage.events[0][0] <= horizon:
            usage.tokens -= usage.events.popleft()[1]
        return usage
