"""Deployments built in code for the cost tests: each test names exactly the price facts it relies on."""

from __future__ import annotations

from typing import Any

from polyroute.catalog import Deployment, parse_deployment


def deployment(id: str = "test-deployment", **fields: Any) -> Deployment:
    """A deployment with harmless defaults; `fields` override them (e.g. price_ref, price, model)."""
    entry: dict[str, Any] = {
        "id": id,
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "location": "US",
        "context_window": 1_000_000,
        "max_output_tokens": 64_000,
        "price_ref": {"model_ref": "claude-sonnet-4-6", "provider_id": "anthropic"},
    }
    entry.update(fields)
    return parse_deployment(entry, origin="user", where="test")
