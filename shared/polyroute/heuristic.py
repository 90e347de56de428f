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
range, so a long or odd input gets a wider band, never a narrower one. The splitting, and everything
else that does not depend on the family, is one scan per text (`textscan`), shared by every family.

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

import math
import re
from dataclasses import dataclass
from operator import mul
from typing import Literal

from polyroute import textscan, tokenizer
from polyroute.textscan import COMMON, Range, Scan

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


@dataclass(frozen=True, slots=True)
class Estimate:
    tokens: int
    band: float
    script: tokenizer.Script
    unusual_share: float

    @property
    def label(self) -> str:
        return f"{self.script}{'+unusual' if self.unusual_share >= 0.05 else ''}"


EMPTY = Estimate(0, 0.0, "latin", 0.0)


def ranges(text: str, family: Family) -> tuple[Range, Range, tokenizer.Script, int]:
    """(ordinary range, unusual range in o200k tokens, the ordinary text's script, unusual bytes)."""
    found = textscan.scan(text)
    return Range(*_ordinary(found, family)), found.unusual, found.script, found.unusual_bytes


def _ordinary(found: Scan, family: Family) -> tuple[float, float, float]:
    """The ordinary range's (low, high, mid), as plain floats: `estimate_scan` runs per family."""
    if found.values is None:
        return 0.0, 0.0, 0.0
    guess = max(1.0, sum(map(mul, WEIGHTS[family], found.values)))  # w × v, summed in order
    band = min(1.0, BANDS[family][found.script] + tokenizer.SHORT_TEXT_SLACK / guess)
    low, high = guess * (1 - band), guess * (1 + band)
    odd = found.gibberish
    if odd is None:
        return low, high, guess
    low, high = min(low, odd.low * 1.0), max(high, odd.high * PER_BYTE_MAX[family])
    return low, high, (low + high) / 2


def estimate(text: str, family: Family = "o200k") -> Estimate:
    """Centre and relative band for `text` in `family`'s tokens; never 0 for non-empty text."""
    if not text:
        return EMPTY
    return estimate_scan(textscan.scan(text), family)


def estimate_scan(found: Scan, family: Family) -> Estimate:
    """`estimate` of a non-empty text from its scan: one scan serves every family."""
    low, high, mid = _ordinary(found, family)
    per_byte, frame, unusual = PER_BYTE_MAX[family], FRAMES[family], found.unusual
    # ordinary + unusual scaled by (1, (1 + per_byte) / 2, per_byte) + the frame, in that order
    low = low + unusual.low * 1.0 + frame
    high = high + unusual.high * per_byte + frame
    mid = mid + unusual.mid * ((1.0 + per_byte) / 2) + frame
    low, high = max(1.0, low), max(1.0, high)
    # the best guess, moved up if needed so that a band of at most 100 % still reaches `high`
    centre = max(1, math.ceil(high / 2), round(min(max(mid, low), high)))
    band = max(high / centre - 1, 1 - low / centre, 0.0)
    band = min(1.0, math.ceil(band * 10_000) / 10_000)
    share = found.unusual_bytes / max(1, found.size)
    return Estimate(centre, band, found.script, round(share, 4))


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
    "estimate_scan",
    "family_of",
    "ranges",
]
