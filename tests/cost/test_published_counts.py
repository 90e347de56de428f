"""Issue 10: the Claude heuristic against the counts others have *published* for reproducible texts.

The calibration (claude_counts.json) rests on ctok, an unofficial reconstruction; these rows are the
independent check: every published count must fall inside the band the heuristic quotes, and the ratio
Anthropic published between its two tokenizer generations must match the calibration's. Sources,
dates and caveats are in `tests/cost/data/claude_published_counts.json`.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from tests.cost.conftest import deployment

from polyroute import heuristic
from polyroute.tokencount import count_tokens
from polyroute.types import CompletionRequest

DATA = Path(__file__).parent / "data"
PUBLISHED: dict[str, Any] = json.loads((DATA / "claude_published_counts.json").read_text())
CALIBRATION: dict[str, Any] = json.loads((DATA / "claude_counts.json").read_text())


def _rows(key: str) -> list[dict[str, Any]]:
    return [row for row in PUBLISHED["counts"] if key in row]


def test_every_published_count_names_its_source_date_and_caveat() -> None:
    assert PUBLISHED["checked"] == "2026-12-04" and PUBLISHED["counts"]
    for row in [*PUBLISHED["counts"], PUBLISHED["generation_ratio"]]:
        assert row["source"].startswith("https://") and row["date"] == "2026-12-04" and row["caveat"]
    assert "No published Claude count for an Arabic text" in PUBLISHED["arabic"]


@pytest.mark.parametrize("row", _rows("input_tokens"), ids=lambda row: row["model"])
def test_published_request_counts_fall_inside_the_quoted_band(row: dict[str, Any]) -> None:
    """A whole request (system + message) as the quote path counts it: one text, one frame."""
    request = CompletionRequest.model_validate(
        {"system": row["system"], "messages": [{"role": "user", "content": row["user"]}]}
    )
    counted = count_tokens(request.text(), deployment(model=row["model"]))
    assert counted.method == "heuristic" and heuristic.family_of(row["model"]) == row["family"]
    low, high = counted.tokens * (1 - counted.error_band), counted.tokens * (1 + counted.error_band)
    assert low <= row["input_tokens"] <= high, (counted, row["input_tokens"])


@pytest.mark.parametrize("row", _rows("content_tokens"), ids=lambda row: row["text"])
def test_published_content_counts_fall_inside_the_content_range(row: dict[str, Any]) -> None:
    """Content tokens (no frame) against the heuristic's range for the text alone; and, with the
    frame the calibration measured added (FRAMES, from ctok), inside the quoted band."""
    family: heuristic.Family = row["family"]
    ordinary, unusual, _, _ = heuristic.ranges(row["text"], family)
    assert unusual.high == 0  # plain prose: the calibrated part of the heuristic is what is tested
    assert ordinary.low <= row["content_tokens"] <= ordinary.high, (ordinary, row)
    quoted = heuristic.estimate(row["text"], family)
    framed = row["content_tokens"] + heuristic.FRAMES[family]
    assert quoted.tokens * (1 - quoted.band) <= framed <= quoted.tokens * (1 + quoted.band)
    assert row["api_usage"] == row["content_tokens"] + 3  # the source's own consistency check


def test_anthropics_published_generation_ratio_matches_the_calibration() -> None:
    """Anthropic: the Opus 4.7+ tokenizer counts about 1.0-1.35x the earlier one. The ctok-recorded
    corpus must agree per script (its per-script medians), or the calibration is not to be trusted."""
    published = PUBLISHED["generation_ratio"]
    ratios: dict[str, list[float]] = {}
    for row in CALIBRATION["rows"]:
        if not row["kind"].startswith("unusual"):
            ratios.setdefault(row["script"], []).append(row["v4.8"] / row["v3"])
    assert set(ratios) == {"latin", "code", "arabic"}
    for script, values in ratios.items():
        assert published["low"] <= statistics.median(values) <= published["high"], script
