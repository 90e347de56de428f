"""Offline token estimates whose band holds: a calibrated centre for ordinary text, hard bounds for the rest.

`tokenizer.estimate` is a linear model fitted to o200k counts of ordinary prose, code, JSON and Arabic
(see its docstring). On other input it was wildly off: issue 9 saw 1,171 ±45 % quoted for text the
provider counted as 10,008. So text is split first:

- *ordinary* pieces (words, code, JSON, Arabic) take the calibrated estimate and its band;
- *unusual* pieces take a range that holds by construction: runs of one repeated character (and long
  whitespace runs), pieces in other scripts or emoji (and Arabic-Indic digits), choppy mixed-case /
  letter-digit strings (base64, hex, keys, random text), alphanumeric runs longer than 24 characters,
  SHOUTED words of five capitals or more, and long digit runs. A BPE
  token is at least one byte, so a piece costs at most its bytes (o200k); at least one token, and a
  digit run at least a token per three digits (o200k splits digits in threes);
- lowercase "words" of which almost none is a common word (random letters) are priced as unusual too.

The two ranges add up; the result is reported as a centre and a relative band covering the whole
range, so a long or odd input gets a wider band, never a narrower one.

Claude has no published offline tokenizer. Its families are calibrated on the same corpus with counts
from `ctok` 1.3.0 (PyPI; an unofficial offline reconstruction of Anthropic's `count_tokens`, exact on
its published held-out sets), recorded 2026-12-04 in `tests/cost/data/claude_counts.json`; the same
linear model is refitted per family. Claude / o200k on that corpus (median):

    Claude v3   (Claude 3 – Sonnet 4.6, Opus 4.6)   latin 1.08  code 1.21  Arabic 1.76
    Claude v4.8 (Opus 4.7 and later, Claude 5.x)    latin 1.44  code 1.48  Arabic 1.81

These replace the old unsupported ×1.15 with ±15 % (Anthropic's 1.0–1.35× compares two Claude
tokenizers with each other, not Claude with o200k). Arabic costs Claude ~1.8× its o200k count: the
old factor under-quoted it by a third. For unusual pieces the measured Claude tokens per byte peaked
at 1.01, so 1.1 per byte bounds them. Models with no measurement (sovereign and open models) get the
o200k model with a wide band, and their tokenizer name says "assumed".

ctok is not Anthropic's: the only published Claude counts for reproducible texts (Anthropic's
token-counting example, two Claude 3 counts measured from the API; none for Arabic) are kept in
`tests/cost/data/claude_published_counts.json` with their sources, and each falls inside the band
(tests/cost/test_published_counts.py). docs/providers.md says what the figures rest on.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Literal

from polyroute import tokenizer

Family = Literal["o200k", "claude-v3", "claude-v4.8", "claude-any", "unknown"]

WEIGHTS: dict[Family, tuple[float, ...]] = {
    # tokens per feature unit (tokenizer.FEATURES), fitted to each family's counts by
    # `tests/cost/calibrate_claude.py fit`; `other` is assumed (1.0), too rare in the corpus to fit
    "o200k": tokenizer.WEIGHTS,
    "claude-v3": (0.0401, 0.794, 0.4475, 1.458, 0.468, 0.0781, 1.8481, 0.4039, 0.5172, 1.0),
    "claude-v4.8": (0.1926, 0.5566, 0.4593, 1.4918, 0.2802, 0.0892, 1.7691, 0.8477, 0.0026, 1.0),
    "claude-any": (0.1926, 0.5566, 0.4593, 1.4918, 0.2802, 0.0892, 1.7691, 0.8477, 0.0026, 1.0),
    "unknown": tokenizer.WEIGHTS,
}
BANDS: dict[Family, dict[tokenizer.Script, float]] = {
    # worst error of the fitted estimate on the calibration corpus per script, rounded up (2026-12-04):
    # v3 latin -10.9/+8.2 %, code -19.1/+7.6 %, arabic -16.5/+13.8 %; v4.8 latin -41.1 % (one chunk of
    # 137; p05 -10.3 %)/+15.3 %, code -19.5/+11.9 %, arabic -20.1/+14.2 %.
    "o200k": {
        "latin": 0.15,
        "code": 0.25,
        "arabic": 0.25,
        "other": 0.50,
    },  # tokenizer.BANDS, widened for pieces
    "claude-v3": {"latin": 0.15, "code": 0.22, "arabic": 0.20, "other": 0.50},
    "claude-v4.8": {"latin": 0.30, "code": 0.22, "arabic": 0.25, "other": 0.50},
    "claude-any": {"latin": 0.35, "code": 0.35, "arabic": 0.35, "other": 0.50},
    "unknown": {"latin": 0.40, "code": 0.40, "arabic": 0.60, "other": 0.60},
}
"""claude-any (a Claude model whose generation is not recognised) spans both generations: the v4.8
weights, which count more, with a band reaching down to v3. `unknown` (sovereign and open models:
Jais, ALLaM, Llama ...) is not measured: o200k weights with an assumed wide band, Arabic widest."""
PER_BYTE_MAX: dict[Family, float] = {
    "o200k": 1.0, "claude-v3": 1.1, "claude-v4.8": 1.1, "claude-any": 1.1, "unknown": 1.5,
}  # fmt: skip
FRAMES: dict[Family, int] = {"o200k": 0, "claude-v3": 7, "claude-v4.8": 6, "claude-any": 7, "unknown": 0}
"""Tokens a provider's count adds for the one-message frame (ctok's measured frames)."""

_REPEAT = re.compile(r"(\S)\1\1\1\1\1\1\1+")  # one character 8+ times (faster than {7,} in `re`)
_LONG_SPACE = re.compile(r"\s{64,}")
_SPACE = re.compile(r"\s")
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_CHUNK = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_WORD = re.compile(r"[a-z]+")
_CAPS = re.compile(r"[A-Z]{5,}")
_ORDINARY_CHAR = re.compile(
    "[\u0000-\u024f\u0600-\u065f\u066a-\u06ef\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u2000-\u206f]*"
)
COMMON = frozenset(
    """the of and to a in is that for it as with was on be by this are or at from not an have which you
    can all any if will but has its may more one other such these under we use used each must your when
    their so no do they there been than our into only also would should what who how about new some out
    up he she his her were had i me my us them then if else return def self import class none true false
    get set value data type name list string int str see""".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Range:
    """Tokens between `low` and `high` (both inclusive), with a best guess `mid` inside."""

    low: float
    high: float
    mid: float = -1.0

    def __post_init__(self) -> None:
        if self.mid < 0:
            object.__setattr__(self, "mid", (self.low + self.high) / 2)

    def __add__(self, other: Range) -> Range:
        return Range(self.low + other.low, self.high + other.high, self.mid + other.mid)

    def scaled(self, low: float, mid: float, high: float) -> Range:
        return Range(self.low * low, self.high * high, self.mid * mid)


ZERO = Range(0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Estimate:
    tokens: int
    band: float
    script: tokenizer.Script
    unusual_share: float

    @property
    def label(self) -> str:
        return f"{self.script}{'+unusual' if self.unusual_share >= 0.05 else ''}"


_OTHER_CHAR = re.compile(
    "[^\\s\u0000-\u024f\u0600-\u065f\u066a-\u06ef\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff"
    "\ufb50-\ufdff\ufe70-\ufeff\u2000-\u206f]"
)  # another script, emoji, Arabic-Indic digits
_CANDIDATES = (
    re.compile(r"[A-Za-z0-9]{25}|[A-Z]{5}|[0-9]{7}"),
    re.compile(r"[a-z][A-Z]|[A-Za-z][0-9]|[0-9][A-Za-z]"),  # mixed case or letters and digits
)
"""Everything that can make a piece unusual; plain words never match, so ordinary prose costs a few
scans in C. The piece around each match is then checked by `_unusual_piece`."""


def _unusual_piece(piece: str) -> Range | None:
    """The range of one whitespace-free piece when it is not ordinary text, else None."""
    size = len(piece.encode("utf-8", "replace"))
    if not _ORDINARY_CHAR.fullmatch(piece):  # another script, emoji, symbols
        return Range(1, size)
    for run in _ALNUM.findall(piece):
        if run.isdigit():
            if len(run) > 6:
                return Range(math.ceil(len(run) / 3), size)
        elif len(run) > 24 or _CAPS.search(run):
            return Range(1, size)
        elif len(run) >= 6:
            chunks = _CHUNK.findall(run)
            if chunks and len(run) / len(chunks) < 3:  # choppy: base64, hex, keys, random
                return Range(1, size)
    return None


def _pieces_with_candidates(text: str) -> list[tuple[int, int]]:
    """Spans of the whitespace-free pieces that contain a candidate, in order, each once."""
    patterns = _CANDIDATES if text.isascii() else (_OTHER_CHAR, *_CANDIDATES)
    hits = sorted({m.start() for pattern in patterns for m in pattern.finditer(text)})
    spans: list[tuple[int, int]] = []
    for hit in hits:
        if spans and hit < spans[-1][1]:
            continue  # inside the piece already taken
        start = max(text.rfind(" ", 0, hit), text.rfind("\n", 0, hit), text.rfind("\t", 0, hit)) + 1
        found = _SPACE.search(text, hit)
        spans.append((start, found.start() if found else len(text)))
    return spans


@functools.lru_cache(maxsize=8)
def _split(text: str) -> tuple[str, Range, int]:
    """(the ordinary text, the range of the unusual pieces, their bytes); cached, as routing asks
    once per tokenizer family for the same prompt."""
    unusual, unusual_bytes = ZERO, 0
    rest = text
    for pattern in (_REPEAT, _LONG_SPACE):
        found = [m.group() for m in pattern.finditer(rest)]
        for run in found:
            size = len(run.encode("utf-8", "replace"))
            unusual, unusual_bytes = unusual + Range(1, size), unusual_bytes + size
        if found:
            rest = pattern.sub(" ", rest)
    kept: list[str] = []
    last = 0
    for start, end in _pieces_with_candidates(rest):
        piece = _unusual_piece(rest[start:end])
        if piece is None:
            continue
        kept.append(rest[last:start])
        kept.append(" ")
        last = end
        unusual, unusual_bytes = unusual + piece, unusual_bytes + int(piece.high)
    kept.append(rest[last:])
    return "".join(kept), unusual, unusual_bytes


def _gibberish(text: str) -> Range | None:
    """Lowercase letter runs of which almost none is a common word: each costs 1 token to 1 per letter."""
    words = _WORD.findall(text.lower())
    if len(words) < 5 or sum(w in COMMON for w in words) >= 0.08 * len(words):
        return None
    return Range(len(words), sum(len(w) for w in words))


def ranges(text: str, family: Family) -> tuple[Range, Range, tokenizer.Script, int]:
    """(ordinary range, unusual range in o200k tokens, the ordinary text's script, unusual bytes)."""
    ordinary_text, unusual, unusual_bytes = _split(text)
    ordinary = ZERO
    script: tokenizer.Script = "latin"
    if ordinary_text.strip():
        values = tokenizer.features(ordinary_text)
        script = tokenizer.script_of(values)
        guess = max(1.0, sum(w * v for w, v in zip(WEIGHTS[family], values, strict=True)))
        band = min(1.0, BANDS[family][script] + tokenizer.SHORT_TEXT_SLACK / guess)
        ordinary = Range(guess * (1 - band), guess * (1 + band), guess)
        odd = _gibberish(ordinary_text) if script == "latin" else None
        if odd is not None:
            odd = odd.scaled(1.0, 1.0, PER_BYTE_MAX[family])
            ordinary = Range(min(ordinary.low, odd.low), max(ordinary.high, odd.high))
    return ordinary, unusual, script, unusual_bytes


def estimate(text: str, family: Family = "o200k") -> Estimate:
    """Centre and relative band for `text` in `family`'s tokens; never 0 for non-empty text."""
    if not text:
        return Estimate(0, 0.0, "latin", 0.0)
    ordinary, unusual, script, unusual_bytes = ranges(text, family)
    per_byte, frame = PER_BYTE_MAX[family], FRAMES[family]
    total = ordinary + unusual.scaled(1.0, (1.0 + per_byte) / 2, per_byte) + Range(frame, frame, frame)
    low, high = max(1.0, total.low), max(1.0, total.high)
    # the best guess, moved up if needed so that a band of at most 100 % still reaches `high`
    centre = max(1, math.ceil(high / 2), round(min(max(total.mid, low), high)))
    band = max(high / centre - 1, 1 - low / centre, 0.0)
    band = min(1.0, math.ceil(band * 10_000) / 10_000)
    share = unusual_bytes / max(1, len(text.encode("utf-8", "replace")))
    return Estimate(centre, band, script, round(share, 4))


def family_of(model: str) -> Family:
    """The tokenizer family of a model name: Claude by generation, else unknown."""
    name = model.lower()
    if "claude" not in name:
        return "unknown"
    found = re.search(r"(\d+)[-.](\d+)", name)
    if found is None:
        found = re.search(r"-(\d+)(?:$|-)", name)
        return "claude-v4.8" if found and int(found.group(1)) >= 5 else "claude-any"
    minor = found.group(2)
    version = (int(found.group(1)), int(minor) if len(minor) <= 2 else 0)  # claude-sonnet-4-20250514: 4.0
    if version < (3, 0) or version > (9, 99):
        return "claude-any"
    return "claude-v3" if version < (4, 7) else "claude-v4.8"


__all__ = [
    "BANDS",
    "COMMON",
    "FRAMES",
    "WEIGHTS",
    "Estimate",
    "Family",
    "Range",
    "estimate",
    "family_of",
    "ranges",
]
