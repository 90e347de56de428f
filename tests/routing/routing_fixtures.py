"""Helpers shared by the routing tests: a small catalog built in code, pointed at the loopback fakes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from polyroute.app import App
from polyroute.catalog import load_catalog
from polyroute.health import BreakerConfig, Health
from polyroute.routing import Router
from polyroute.settings import Budget, Settings
from polyroute.testing import FakeProviders


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def openai_like(
    fakes: FakeProviders, id: str, location: str, price: tuple[str, str], **extra: Any
) -> dict[str, Any]:
    """A user deployment on the fake OpenAI-compatible server (tests override fields with `extra`)."""
    entry: dict[str, Any] = {
        "id": id,
        "provider": "openai_compatible",
        "model": f"{id}-model",
        "base_url": f"{fakes.openai.url}/v1",
        "location": location,
        "context_window": 32000,
        "max_output_tokens": 4000,
        "capabilities": ["json"],
        "price": {"input_per_mtok": price[0], "output_per_mtok": price[1]},
    }
    entry.update(extra)
    return entry


def entries(fakes: FakeProviders) -> list[dict[str, Any]]:
    """Three Saudi deployments (one Anthropic-wire), a cheaper German one, a US one without inference_geo."""
    anthropic_sa = {
        "id": "sa-cheap",
        "provider": "anthropic",
        "model": "sa-cheap-model",
        "base_url": fakes.anthropic.url,
        "location": "SA",
        "context_window": 32000,
        "max_output_tokens": 4000,
        "capabilities": ["json", "arabic"],
        "price": {"input_per_mtok": "0.10", "output_per_mtok": "0.40"},
        "latency_prior_ms": 2000,
    }
    us_declared = {
        "id": "us-declared",
        "provider": "anthropic",
        "model": "us-declared-model",
        "base_url": fakes.anthropic.url,
        "location": "US",
        "context_window": 32000,
        "max_output_tokens": 4000,
        "price": {"input_per_mtok": "0.01", "output_per_mtok": "0.01"},
    }
    return [
        anthropic_sa,
        openai_like(fakes, "sa-mid", "SA", ("1", "4"), quality=8, latency_prior_ms=500),
        openai_like(fakes, "sa-pricey", "SA", ("10", "40"), quality=9, capabilities=["json", "vision"]),
        openai_like(fakes, "de-cheapest", "DE", ("0.01", "0.02")),
        us_declared,
    ]


def make_app(fakes: FakeProviders, data_dir: Path, clock: Clock, budgets: list[Budget] | None = None) -> App:
    settings = Settings(data_dir=data_dir, budgets=budgets or [], teams={"legal": ["local:tester"]})
    app = App(settings, principal="local:tester")
    app.catalog = load_catalog(entries(fakes), bundled=False)
    app.router = Router(app, health=Health(BreakerConfig(consecutive_failures=2, cooldown_s=30), clock=clock))
    return app


TINY_BUDGET = [Budget(scope="team:legal", period="day", limit_usd=Decimal("0.0000001"))]
