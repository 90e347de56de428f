"""Circuit breakers, latency EWMA and per-minute capacity, driven by an injectable clock."""

from __future__ import annotations

from polyroute.catalog import Deployment, Limits
from polyroute.health import BreakerConfig, Health


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deployment(**overrides: object) -> Deployment:
    fields: dict[str, object] = {
        "id": "local-a",
        "provider": "openai_compatible",
        "model": "m",
        "api_model": "m",
        "processing_locations": ("SA",),
        "storage_locations": ("SA",),
        "context_window": 8000,
        "max_output_tokens": 1000,
        "latency_prior_ms": 800,
    }
    fields.update(overrides)
    return Deployment.model_validate(fields)


def test_breaker_opens_after_consecutive_failures_and_recovers_after_cooldown() -> None:
    clock = FakeClock()
    health = Health(BreakerConfig(consecutive_failures=3, cooldown_s=30), clock=clock)
    for _ in range(3):
        assert health.acquire("a")
        health.record_failure("a")
    assert health.state("a") == "open"
    assert not health.acquire("a")
    assert "circuit open" in (health.blocked("a") or "")

    clock.now += 31
    assert health.state("a") == "half_open"
    assert health.blocked("a") is None
    assert health.acquire("a")  # the one probe
    assert not health.acquire("a")  # a second caller waits for the probe
    assert "probe" in (health.blocked("a") or "")
    health.record_success("a", 120.0)
    assert health.state("a") == "closed"
    assert health.acquire("a") and health.acquire("a")


def test_failed_probe_reopens_for_another_cooldown() -> None:
    clock = FakeClock()
    health = Health(BreakerConfig(consecutive_failures=1, cooldown_s=10), clock=clock)
    health.record_failure("a")
    clock.now += 11
    assert health.acquire("a")
    health.record_failure("a")
    assert health.state("a") == "open"
    clock.now += 5
    assert health.state("a") == "open"
    clock.now += 6
    assert health.state("a") == "half_open"


def test_released_probe_can_be_claimed_again() -> None:
    clock = FakeClock()
    health = Health(BreakerConfig(consecutive_failures=1, cooldown_s=10), clock=clock)
    health.record_failure("a")
    clock.now += 11
    assert health.acquire("a")
    health.release("a")
    assert health.acquire("a")


def test_failure_rate_opens_without_consecutive_run() -> None:
    health = Health(BreakerConfig(consecutive_failures=100, window=10, min_samples=10, failure_rate=0.5))
    for _ in range(5):
        health.record_success("a", 10.0)
        health.record_failure("a")
    assert health.state("a") == "open"


def test_successes_keep_breaker_closed_and_other_deployments_unaffected() -> None:
    health = Health(BreakerConfig(consecutive_failures=2))
    health.record_failure("a")
    health.record_success("a", 10.0)
    health.record_failure("a")
    assert health.state("a") == "closed"
    health.record_failure("a")
    assert health.state("a") == "open"
    assert health.state("b") == "closed"


def test_latency_starts_at_prior_then_follows_ewma() -> None:
    health = Health(BreakerConfig(ewma_alpha=0.5))
    d = deployment()
    assert health.latency_ms(d) == 800
    health.record_success(d.id, 100.0)
    assert health.latency_ms(d) == 100.0
    health.record_success(d.id, 300.0)
    assert health.latency_ms(d) == 200.0


def test_capacity_limits_requests_and_tokens_per_minute_with_sliding_window() -> None:
    clock = FakeClock()
    health = Health(clock=clock)
    d = deployment(limits=Limits(requests_per_minute=2, tokens_per_minute=1000))
    assert health.capacity_blocked(d, 400) is None
    health.record_use(d, 400)
    assert "1000 per minute" in (health.capacity_blocked(d, 700) or "")
    assert health.capacity_blocked(d, 500) is None
    health.record_use(d, 500)
    assert "2 requests per minute" in (health.capacity_blocked(d, 1) or "")
    clock.now += 61
    assert health.capacity_blocked(d, 1000) is None


def test_no_limits_means_no_capacity_bookkeeping() -> None:
    health = Health()
    d = deployment()
    for _ in range(1000):
        health.record_use(d, 10**6)
    assert health.capacity_blocked(d, 10**9) is None


def test_tracked_names_every_deployment_whose_health_differs_from_the_catalog() -> None:
    """A routing decision asks health only about these: all others are unblocked at their prior."""
    health = Health(BreakerConfig(consecutive_failures=1))
    timed, failed, untouched = deployment(id="timed"), deployment(id="failed"), deployment(id="untouched")
    assert health.tracked() == []
    health.record_success(timed.id, 120.0)
    health.record_failure(failed.id)
    assert sorted(health.tracked()) == ["failed", "timed"]
    assert health.blocked(failed.id) and health.latency_ms(timed) == 120.0
    assert health.blocked(untouched.id) is None and health.latency_ms(untouched) == 800
