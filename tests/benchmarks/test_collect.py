"""The benchmark harness: figures from several runs become one results file and the README table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, env=env)


def test_figures_from_two_runs_gather_into_medians_ranges_and_same_run_ratios(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    script = tmp_path / "bench_example.py"
    script.write_text(
        f"import sys; sys.path.insert(0, {str(BENCH)!r})\n"
        "from benchkit import figure\n"
        "import os\n"
        "run = int(os.environ['POLYROUTE_BENCH_RUN'])\n"
        "figure('added', 1.0 * run, 'ms', samples=[run, run, 10 * run], baseline=4.0 * run,\n"
        "       baseline_name='peer', target='≤ 1.5 ms', met=run <= 1.5)\n"
    )
    for number in ("1", "2"):
        done = run(str(script), env={"POLYROUTE_BENCH_OUT": str(raw), "POLYROUTE_BENCH_RUN": number})
        assert done.returncode == 0, done.stderr
    results_file = tmp_path / "results.json"
    done = run(str(BENCH / "collect.py"), "gather", str(raw), "--output", str(results_file))
    assert done.returncode == 0, done.stderr
    results = json.loads(results_file.read_text())
    assert results["runs"] == 2 and results["machine"]["cores"]
    (item,) = results["figures"]
    assert (item["median"], item["min"], item["max"]) == (1.5, 1.0, 2.0)
    assert item["p99"] == 15.0  # each run's p99 (10, 20): their median
    assert item["ratio"] == 0.25 and item["met_runs"] == "1/2"  # ratios within a run, never across runs


def test_readme_table_is_rewritten_between_its_markers_only(tmp_path: Path) -> None:
    results = {
        "date": "2026-12-04T00:00:00+00:00", "command": "scripts/bench", "runs": 3,
        "machine": {"processor": "x86_64", "cores": 2, "python": "3.11.7", "commit": "abc1234"},
        "figures": [{"bench": "bench_x", "name": "decision", "unit": "µs", "median": 200.0, "min": 190.0,
                     "max": 230.0, "runs": 3, "target": "≤ 250 µs", "met_runs": "3/3"}],
    }  # fmt: skip
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(results))
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- performance:start -->\nold\n<!-- performance:end -->\noutro\n")
    done = run(str(BENCH / "collect.py"), "readme", str(results_file), "--readme", str(readme))
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert "| bench_x | decision | 200.0 µs (190.0–230.0) |  |  | ≤ 250 µs (3/3) |" in text
    assert "`scripts/bench` on 2026-12-04 (3 runs" in text
