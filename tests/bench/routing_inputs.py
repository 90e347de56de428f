"""Inputs of the routing-decision benchmark (bench_routing): a synthetic catalog of any size, and the
naive decision (a fresh quote and verdict per deployment) the real one is compared with."""

from __future__ import annotations

import random
from typing import Any

from polyroute import cost
from polyroute.app import App
from polyroute.routing import RouteRequest


def synthetic(count: int) -> list[dict[str, Any]]:
    """`count` deployments over 25 models (claude-like, gpt-like, open), 12 locations, random prices."""
    rng = random.Random(7)
    models = [f"claude-bench-{i}" for i in range(8)] + [f"gpt-4o-bench-{i}" for i in range(8)]
    models += [f"open-bench-{i}" for i in range(9)]
    places = ["SA", "AE", "QA", "DE", "FR", "IE", "GB", "US", "EEA", "GCC", "ANY", "JP"]
    caps = ["vision", "json", "reasoning", "arabic", "long_context", "tools"]
    return [
        {
            "id": f"synthetic-{i:03d}",
            "provider": "openai_compatible",
            "model": rng.choice(models),
            "base_url": "http://127.0.0.1:9/v1",
            "location": rng.choice(places),
            "capabilities": rng.sample(caps, rng.randint(1, 5)),
            "context_window": rng.choice([8192, 128000, 200000]),
            "max_output_tokens": 4096,
            "quality": rng.randint(3, 9),
            "latency_prior_ms": rng.randint(300, 4000),
            "price": {
                "input_per_mtok": str(rng.randint(1, 3000) / 100),
                "output_per_mtok": str(rng.randint(1, 9000) / 100),
            },
        }  # fmt: skip
        for i in range(count)
    ]


def naive(app: App, request: RouteRequest) -> object:
    """What a router without caches does: a full quote and a fresh verdict for every deployment."""
    jurisdiction, data_class = request.jurisdiction or "SA", request.data_class or "public"
    kept = []
    for deployment in app.catalog:
        verdict = app.policy.check(jurisdiction, data_class, deployment, deployment_id=deployment.id)
        if verdict.allowed:
            kept.append((cost.quote_request(deployment, request.request).expected_usd, deployment.id))
    return sorted(kept)
