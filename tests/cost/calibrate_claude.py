"""Record Claude token counts for the heuristic's calibration corpus (not a test; run by hand).

No offline Claude tokenizer is published by Anthropic. `ctok` (PyPI, unofficial) reconstructs the
counts of Anthropic's `count_tokens` API and reports exact agreement with recorded `count_tokens`
responses on held-out sets (MultiPL-E, 22 programming languages; Rosetta Code, 250 documents) for
the v3 tokenizer (Claude 3 through Opus 4.6 / Sonnet 4.6) and v4.7 (Opus 4.7; v4.8+ — Opus 4.8,
Sonnet 5, Fable 5 — reuses its vocabulary with a six-token frame). It needs Python >= 3.12, so this
runs in two steps:

    .venv/bin/python tests/cost/calibrate_claude.py dump > /tmp/corpus.json      # chunks + o200k
    python3.12 -m venv /tmp/ctok && /tmp/ctok/bin/pip install ctok==1.3.0
    /tmp/ctok/bin/python tests/cost/calibrate_claude.py count < /tmp/corpus.json \
        > tests/cost/data/claude_counts.json

The committed JSON holds, per chunk, its script class, its SHA-256 (the text itself is rebuilt from
the same system files by `calibrate_heuristic.py`), its exact o200k count and the two Claude
families' content counts (the message frame subtracted). `polyroute/heuristic.py` takes its Claude
ratios from this file; tests/cost/test_heuristic_calibration.py recomputes them from it.
"""

from __future__ import annotations

import hashlib
import json
import sys


def dump() -> None:
    from calibrate_heuristic import arabic, code, english, json_docs  # pyright: ignore[reportMissingImports]
    from unusual_samples import unusual  # pyright: ignore[reportMissingImports]

    from polyroute import tokenizer

    rows = []
    groups = [("english", english()), ("arabic", arabic()), ("code", code()), ("json", json_docs())]
    groups += [(f"unusual:{name}", [text]) for name, text in unusual().items()]
    for kind, texts in groups:
        for text in texts:
            script = tokenizer.script_of(tokenizer.features(text))
            rows.append({"kind": kind, "script": script, "text": text,
                         "o200k": tokenizer.count_exact(text, "o200k_base")})  # fmt: skip
    json.dump(rows, sys.stdout, ensure_ascii=False)


def count() -> None:
    from ctok import token_count  # type: ignore[import-not-found]

    frames = {version: token_count("a", version) - 1 for version in ("3.0", "4.8")}
    rows = json.load(sys.stdin)
    out = {
        "source": "ctok 1.3.0 (PyPI; unofficial reconstruction of Anthropic count_tokens, exact on its "
        "held-out sets); o200k_base via polyroute.tokenizer; recorded 2026-12-04",
        "frames": {"v3": frames["3.0"], "v4.8": frames["4.8"]},
        "rows": [
            {
                "kind": row["kind"],
                "script": row["script"],
                "sha256": hashlib.sha256(row["text"].encode()).hexdigest()[:16],
                "bytes": len(row["text"].encode()),
                "o200k": row["o200k"],
                "v3": token_count(row["text"], "3.0") - frames["3.0"],
                "v4.8": token_count(row["text"], "4.8") - frames["4.8"],
            }
            for row in rows
        ],
    }
    json.dump(out, sys.stdout, indent=0)


def fit() -> None:
    """Fit the heuristic's weights to each Claude family's recorded counts; print weights and errors."""
    import hashlib as _hashlib
    import statistics
    from pathlib import Path

    from calibrate_heuristic import arabic, code, english, json_docs, solve  # pyright: ignore[reportMissingImports]

    from polyroute import tokenizer

    data = json.loads((Path(__file__).parent / "data/claude_counts.json").read_text())
    by_sha = {row["sha256"]: row for row in data["rows"]}
    texts = [t for group in (english(), arabic(), code(), json_docs()) for t in group]
    fixed = tokenizer.FEATURES.index("other")
    for family in ("v3", "v4.8"):
        rows, targets, pairs = [], [], []
        for text in texts:
            counted = by_sha[_hashlib.sha256(text.encode()).hexdigest()[:16]][family]
            values = [float(x) for x in tokenizer.features(text)]
            rows.append(values[:fixed] + values[fixed + 1 :])
            targets.append(max(counted - values[fixed], 1.0))
            pairs.append((text, counted))
        weights = solve(rows, targets)
        weights.insert(fixed, 1.0)
        print(family, "weights", tuple(round(w, 4) for w in weights))
        errors: dict[str, list[float]] = {}
        for text, counted in pairs:
            values = tokenizer.features(text)
            guess = sum(w * v for w, v in zip(weights, values, strict=True))
            errors.setdefault(tokenizer.script_of(values), []).append(guess / counted - 1)
        for script, errs in sorted(errors.items()):
            errs.sort()
            low, high = errs[len(errs) // 20], errs[-len(errs) // 20 - 1]
            print(f"  {script:6} n={len(errs):4} min {errs[0]:+.3f} p05 {low:+.3f} "
                  f"median {statistics.median(errs):+.3f} p95 {high:+.3f} max {errs[-1]:+.3f}")  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    {"dump": dump, "count": count, "fit": fit}[sys.argv[1]]()
