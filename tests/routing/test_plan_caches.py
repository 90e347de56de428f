"""What a plan lays out once and reuses is exact and follows the catalog.

A balanced ranking reuses each row's score for when its cost scores 0 (`Parts.floored`); one
over more deployments than a plan lists bounds the cut with a `probe` (the rows
with the best latency and quality parts) instead of sorting every score; any probe must give the
same ranking, however badly it guesses. Each lineup row carries the candidate fields its deployment
decides (`PricedRow.shown`) and the lineup its probe: a changed catalog must show up in the next plan
exactly as a router that never cached anything would plan it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from polyroute.app import App
from polyroute.catalog import Catalog, load_catalog
from polyroute.ranking import balanced_parts, latency_log, probe_positions, rank_columns
from polyroute.routing import RouteRequest
from polyroute.settings import Settings
from polyroute.types import CompletionRequest


@st.composite
def columns(draw: st.DrawFn) -> tuple[list[float], list[float], list[int], int, list[int]]:
    n = draw(st.integers(2, 80))
    price = st.sampled_from([0.0, 1e-7, 3e-7, 1e-6, 1e-6, 2.5e-5, 1e-4, 3e-3])  # repeats make ties
    expected = [draw(price) for _ in range(n)]
    latency = [draw(st.sampled_from([0.0, 300.0, 800.0, 800.0, 4000.0, 9000.0])) for _ in range(n)]
    quality = [draw(st.integers(1, 10)) for _ in range(n)]
    limit = draw(st.integers(1, n - 1))
    probe = draw(st.permutations(range(n)))[:limit]
    return expected, latency, quality, limit, probe


@settings(max_examples=300, deadline=None)
@given(columns())
def test_any_probe_ranks_exactly_as_sorting_every_score(
    data: tuple[list[float], list[float], list[int], int, list[int]],
) -> None:
    expected, latency, quality, limit, probe = data
    ids = [f"d{i:02d}" for i in range(len(expected))]
    logs = [latency_log(ms) for ms in latency]
    parts = balanced_parts(logs, quality, keep=True)  # with the floored values a lineup keeps
    plain = rank_columns(ids, expected, latency, logs, quality, "balanced", limit)
    assert rank_columns(ids, expected, latency, logs, quality, "balanced", limit, parts) == plain
    for guess in (probe, probe_positions(parts, limit), [i for i, _ in plain[::-1]][:limit]):
        if len(set(guess)) == limit:
            assert (
                rank_columns(ids, expected, latency, logs, quality, "balanced", limit, parts, guess) == plain
            )


def test_the_probe_is_the_best_latency_and_quality_parts() -> None:
    parts = balanced_parts([latency_log(ms) for ms in (300.0, 3000.0, 300.0, 900.0)], [5, 9, 8, 1])
    assert probe_positions(parts, 2) == [2, 0]


def _entries(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"cache-{i:02d}",
            "provider": "openai_compatible",
            "model": rng.choice(["gpt-4o-c", "open-c"]),
            "base_url": "http://127.0.0.1:9/v1",
            "location": rng.choice(["US", "DE", "SA"]),
            "capabilities": ["json"],
            "context_window": 128000,
            "max_output_tokens": 4096,
            "quality": rng.randint(3, 9),
            "latency_prior_ms": rng.choice([300, 800, 1500, 4000]),
            "price": {
                "input_per_mtok": str(rng.randint(1, 300) / 10),
                "output_per_mtok": str(rng.randint(1, 900) / 10),
            },
        }  # fmt: skip
        for i in range(count)
    ]


def _route() -> RouteRequest:
    request = CompletionRequest.from_prompt("Summarise the complaint in two sentences.", max_tokens=300)
    return RouteRequest(request=request, principal="cache", strategy="balanced")


def test_a_changed_catalog_plans_as_a_router_without_caches_would(tmp_path: Path) -> None:
    rng = random.Random(5)
    app = App(Settings(data_dir=tmp_path / "cached"), principal="cache")
    app.catalog = Catalog(load_catalog(_entries(rng, 45), bundled=False))
    first = app.router.plan(_route())
    assert len(first.candidates) == 32 and first.more_candidates == 13  # the probe applies
    changed = {c.deployment for c in first.candidates[:5]}
    app.catalog = Catalog(
        d.model_copy(
            update={"latency_prior_ms": 9000.0, "quality": 1, "model": "renamed", "provider": "openai"}
        )
        if d.id in changed
        else d
        for d in app.catalog
    )
    after = app.router.plan(_route())
    fresh = App(Settings(data_dir=tmp_path / "fresh"), principal="cache")
    fresh.catalog = app.catalog
    assert after == fresh.router.plan(_route())
    assert after != first and not changed & {c.deployment for c in after.candidates[:5]}
