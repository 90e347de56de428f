"""The reliability table's generator: variants fold into one row, summary figures are worst/summed, and
README's section between the markers is replaced, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests import reliability


def result(attack: str, held: bool, **figures: float) -> dict[str, object]:
    return {"attack": attack, "area": "x", "test": "t", "held": held, "figures": figures}


def test_variants_fold_and_the_summary_keeps_the_worst() -> None:
    results = [
        result("flood", True, healthz_stall_s=0.2), result("flood", False, healthz_stall_s=0.5),
        result("kill", True, events_lost=0), result("overspend", True, budget_overrun_usd=0.0),
    ]  # fmt: skip
    text = reliability.table(results, "scripts/reliability", "2026-12-04 19:00 UTC")  # type: ignore[arg-type]
    assert "| 3 | 2 | 0 | $0 | 500 ms |" in text
    assert "| x | flood | 2 | **no** | healthz_stall_s 500 ms |" in text


def test_only_the_marked_section_is_rewritten(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\nbefore\n{reliability.START}\nold\n{reliability.END}\nafter\n")
    reliability.rewrite(readme, f"{reliability.START}\nnew\n{reliability.END}")
    assert readme.read_text() == f"# T\n\nbefore\n{reliability.START}\nnew\n{reliability.END}\nafter\n"


def test_results_are_written_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results.jsonl"
    monkeypatch.delenv(reliability.OUT_ENV, raising=False)
    reliability.record("a", "x", "t", True, {})
    assert not out.exists()
    monkeypatch.setenv(reliability.OUT_ENV, str(out))
    reliability.record("a", "x", "t", True, {"events_lost": 0})
    assert out.read_text().count("\n") == 1
