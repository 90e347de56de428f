"""Refit the token heuristic's weights against o200k_base and print its error per script.

Not a test (pytest does not collect it). Run it when the heuristic changes:

    .venv/bin/python tests/cost/calibrate_heuristic.py

The corpus is read from files every Debian/Python machine has, cut into ~2,000-character chunks:
English prose (five licence texts in /usr/share/common-licenses and the first 200k characters of the
Python language reference in the stdlib's `pydoc_data.topics`),
Arabic (the Arabic translations shipped as /usr/share/locale/ar/LC_MESSAGES/*.mo), code (Python
standard-library modules) and JSON (the JSON-Schema metaschemas, plus generated records, indented and
compact). The fitted weights and the per-script error go into `polyroute/tokenizer.py` by hand.
"""

from __future__ import annotations

import gettext
import json
import random
import statistics
import sys
from pathlib import Path

from polyroute import tokenizer

CHUNK = 2000


def chunks(text: str) -> list[str]:
    return [text[i : i + CHUNK] for i in range(0, len(text) - CHUNK // 2, CHUNK)]


def english() -> list[str]:
    import pydoc_data.topics

    names = ("GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-2.1", "GFDL-1.3")
    texts = [Path("/usr/share/common-licenses", name).read_text() for name in names]
    texts.append("\n".join(pydoc_data.topics.topics.values())[:200_000])  # the Python reference, prose + code
    return [c for t in texts for c in chunks(t)]


def arabic() -> list[str]:
    out: list[str] = []
    for mo in sorted(Path("/usr/share/locale/ar/LC_MESSAGES").glob("*.mo")):
        with mo.open("rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        strings = [v for k, v in catalog.items() if k and isinstance(v, str)]
        out += chunks("\n".join(strings))
    return out


def code() -> list[str]:
    lib = Path(json.__file__).parents[1]
    names = ("argparse.py", "json/encoder.py", "json/decoder.py", "dataclasses.py", "textwrap.py", "shlex.py")
    return [c for name in names for c in chunks((lib / name).read_text())]


def json_docs() -> list[str]:
    import jsonschema_specifications

    root = Path(jsonschema_specifications.__file__).parent / "schemas"
    texts = [p.read_text() for p in sorted(root.rglob("*.json"))]
    rng = random.Random(7)
    records = [
        {
            "id": rng.randrange(10**9),
            "name": f"user{i}",
            "email": f"user{i}@example.com",
            "active": i % 2 == 0,
            "score": round(rng.random() * 100, 3),
            "tags": ["alpha", "beta"][: i % 3],
            "city": "Riyadh",
        }
        for i in range(300)
    ]
    texts += [json.dumps(records, indent=2), json.dumps(records)]
    return [c for t in texts for c in chunks(t)]


def solve(rows: list[list[float]], targets: list[float]) -> list[float]:
    """Least squares on relative error: each row is scaled by 1/target so every chunk weighs the same."""
    n = len(rows[0])
    a = [[0.0] * n for _ in range(n)]
    b = [0.0] * n
    for row, y in zip(rows, targets, strict=True):
        w = 1.0 / (y * y)
        for i in range(n):
            b[i] += w * row[i] * y
            for j in range(n):
                a[i][j] += w * row[i] * row[j]
    for i in range(n):  # Gauss-Jordan
        pivot = a[i][i] or 1e-12
        for j in range(n):
            if j != i:
                f = a[j][i] / pivot
                a[j] = [x - f * p for x, p in zip(a[j], a[i], strict=True)]
                b[j] -= f * b[i]
    return [b[i] / (a[i][i] or 1e-12) for i in range(n)]


def main() -> None:
    encoding = tokenizer.verified_encoding("o200k_base")
    corpus = {"latin": english(), "arabic": arabic(), "code": code(), "json": json_docs()}
    rows: list[list[float]] = []
    targets: list[float] = []
    fixed = tokenizer.FEATURES.index("other")  # too rare in the corpus to fit: its weight is assumed
    for texts in corpus.values():
        for text in texts:
            values = [float(x) for x in tokenizer.features(text)]
            rows.append(values[:fixed] + values[fixed + 1 :])
            target = len(encoding.encode_ordinary(text)) - tokenizer.WEIGHTS[fixed] * values[fixed]
            targets.append(max(target, 1.0))
    weights = solve(rows, targets)
    weights.insert(fixed, tokenizer.WEIGHTS[fixed])
    print("weights", dict(zip(tokenizer.FEATURES, (round(w, 4) for w in weights), strict=True)))
    print("current", dict(zip(tokenizer.FEATURES, tokenizer.WEIGHTS, strict=True)))
    if "--apply" in sys.argv:
        tokenizer.WEIGHTS = tuple(round(w, 4) for w in weights)
    for name, texts in corpus.items():
        errors = [tokenizer.estimate(t).tokens / len(encoding.encode_ordinary(t)) - 1 for t in texts]
        naive = [len(t) / 4 / len(encoding.encode_ordinary(t)) - 1 for t in texts]
        print(
            f"{name:7} n={len(texts):4} chars={sum(map(len, texts)):7}  fitted: median"
            f" {statistics.median(errors):+.3f} min {min(errors):+.3f} max {max(errors):+.3f}"
            f"   chars/4: median {statistics.median(naive):+.3f}"
        )
    for size in (2000, 300, 60):
        by_script: dict[str, list[float]] = {}
        insides: dict[str, list[bool]] = {}
        for text in (t[:size] for texts in corpus.values() for t in texts):
            est = tokenizer.estimate(text)
            true = len(encoding.encode_ordinary(text))
            by_script.setdefault(est.script, []).append(est.tokens / true - 1)
            insides.setdefault(est.script, []).append(abs(est.tokens - true) <= est.band * est.tokens)
        for script, errs in sorted(by_script.items()):
            errs.sort()
            inside = sum(ok for ok in insides[script]) / len(errs)
            print(
                f"  {size:5} chars, classed {script:6} n={len(errs):4} p05 {errs[len(errs) // 20]:+.3f}"
                f" p95 {errs[-len(errs) // 20 - 1]:+.3f} worst {max(errs, key=abs):+.3f}"
                f"  within band {inside:.1%}"
            )


if __name__ == "__main__":
    main()
