"""Gather the figures of one `scripts/bench` run into a results file, and the README table from it.

    collect.py gather RAW.jsonl --output RESULTS.json [--command CMD]
    collect.py readme RESULTS.json [--readme README.md]

`gather` groups the JSON lines `benchkit.figure` wrote (one per figure per repetition) by benchmark
and figure: the median over the repetitions, their min and max, the median of each repetition's p99
where the figure had samples, and the ratio to the baseline measured in the same repetition (never a
baseline from another run). `readme` rewrites the table between the performance markers in README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import machine  # noqa: E402

START, END = "<!-- performance:start -->", "<!-- performance:end -->"


def gather(lines: list[dict[str, Any]], command: str) -> dict[str, Any]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in lines:
        groups[(record["bench"], record["name"])].append(record)
    figures = [_summary(bench, name, records) for (bench, name), records in groups.items()]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "runs": max((record["run"] for record in lines), default=0),
        "machine": machine(),
        "figures": figures,
    }


def _summary(bench: str, name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    values = [record["value"] for record in records]
    first = records[0]
    summary: dict[str, Any] = {
        "bench": bench,
        "name": name,
        "unit": first["unit"],
        "better": first.get("better", "lower"),
        "runs": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }
    p99s = [record["p99"] for record in records if "p99" in record]
    if p99s:
        summary["p99"] = statistics.median(p99s)
    ratios = [record["ratio"] for record in records if record.get("ratio") is not None]
    if ratios:
        summary |= {"ratio": statistics.median(ratios), "baseline_name": first.get("baseline_name")}
    if "target" in first:
        met = [bool(record.get("met")) for record in records]
        summary |= {"target": first["target"], "met_runs": f"{sum(met)}/{len(met)}"}
    return summary


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(results: dict[str, Any]) -> str:
    rows = [
        f"Measured by `{results['command']}` on {results['date'][:10]} ({results['runs']} runs; "
        f"{results['machine']['processor']}, {results['machine']['cores']} cores, Python "
        f"{results['machine']['python']}, commit {results['machine']['commit']}). Medians over the runs, "
        "min–max in brackets; ratios are to a baseline measured in the same run.",
        "",
        "| benchmark | figure | median (min–max) | p99 | vs baseline | target (runs met) |",
        "|---|---|---|---|---|---|",
    ]
    for item in results["figures"]:
        spread = f"{_number(item['median'])} {item['unit']} ({_number(item['min'])}–{_number(item['max'])})"
        p99 = f"{_number(item['p99'])} {item['unit']}" if "p99" in item else ""
        ratio = f"{item['ratio']:.2f}× {item['baseline_name'] or ''}".strip() if "ratio" in item else ""
        target = f"{item['target']} ({item['met_runs']})" if "target" in item else ""
        rows.append(f"| {item['bench']} | {item['name']} | {spread} | {p99} | {ratio} | {target} |")
    return "\n".join(rows)


def rewrite_readme(readme: Path, results: dict[str, Any]) -> None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{readme}: no {START} … {END} markers to put the table between")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table(results)}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gather benchmark figures; rewrite the README table.")
    commands = parser.add_subparsers(dest="command", required=True)
    gathering = commands.add_parser("gather")
    gathering.add_argument("raw", type=Path)
    gathering.add_argument("--output", type=Path, required=True)
    gathering.add_argument("--command", dest="run_command", default="scripts/bench")
    readme = commands.add_parser("readme")
    readme.add_argument("results", type=Path)
    readme.add_argument("--readme", type=Path, default=Path(__file__).resolve().parents[2] / "README.md")
    args = parser.parse_args(argv)
    if args.command == "gather":
        raw = args.raw.read_text(encoding="utf-8").splitlines() if args.raw.exists() else []
        results = gather([json.loads(line) for line in raw if line.strip()], args.run_command)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"results: {args.output} ({len(results['figures'])} figures)")
        print(table(results))
        return 0 if results["figures"] else 1
    rewrite_readme(args.readme, json.loads(args.results.read_text(encoding="utf-8")))
    print(f"{args.readme}: performance table rewritten from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
