"""Digests of what a route plan depends on besides the policy (whose `version` is already its digest):
the catalog and the prices. Receipts and simulation reports name them, so "has anything changed since
this call?" is a comparison of two strings.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from polyroute import pricing
from polyroute.catalog import Catalog, Deployment
from polyroute.errors import ConfigError


def catalog_digest(catalog: Catalog) -> str:
    """SHA-256 of the catalog's canonical JSON (deployments sorted by id, capabilities sorted: a
    frozenset dumps in an order that changes from process to process with string hashing)."""
    entries = sorted((_entry(d) for d in catalog), key=lambda d: str(d["id"]))
    return _digest(entries)


def _entry(deployment: Deployment) -> dict[str, Any]:
    entry = deployment.model_dump(mode="json")
    entry["capabilities"] = sorted(deployment.capabilities)
    return entry


def prices_digest(catalog: Catalog) -> str:
    """SHA-256 of every deployment's resolved per-token rates today (the price library's included)."""
    rates: dict[str, Any] = {}
    for deployment in catalog:
        try:
            found = pricing.rates_for(deployment)
        except ConfigError:
            rates[deployment.id] = None
            continue
        rates[deployment.id] = [
            [str(rate.base), [[start, str(price)] for start, price in rate.tiers]]
            for rate in (found.input, found.output, found.cache_read, found.cache_write)
        ]
    return _digest(rates)


class CatalogDigest:
    """The digest of whichever catalog is asked about, recomputed only when the catalog object changes."""

    def __init__(self) -> None:
        self._seen: tuple[Catalog, str] | None = None

    def __call__(self, catalog: Catalog) -> str:
        seen = self._seen
        if seen is None or seen[0] is not catalog:
            seen = self._seen = (catalog, catalog_digest(catalog))
        return seen[1]


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
