"""What the token heuristic reads of a text, whatever the tokenizer family: one scan per text.

`heuristic.estimate` splits a text into ordinary and unusual pieces (see its docstring), measures the
ordinary part's character classes (`tokenizer.features`) and checks it for gibberish. None of that
depends on the family: only the weights, bands and per-byte bounds applied afterwards do. A routing
decision estimates up to three Claude and open-model families for the same prompt, so the scan is
made once per text (`scan`) and each family's estimate reads it (`heuristic.estimate_scan`).
Large texts' scans are remembered by digest (`textmemo`), as their features were: a server scans a
large prompt in a worker thread first, and the plan on the event loop then finds it.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from polyroute import textmemo, tokenizer

_REPEAT = re.compile(r"(\S)\1\1\1\1\1\1\1+")  # one character 8+ times (faster than {7,} in `re`)
_LONG_SPACE = re.compile(r"\s{64,}")
_LONG_SPACE_MIN = 64
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


ZERO = Range(0.0, 0.0, 0.0)

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


@functools.cache
def _case_classes() -> tuple[bytes, bytes]:
    """Byte tables for `bytes.translate`: a-z → l, A-Z → U, 0-9 → d, else "."; and alphanumeric → a."""
    classes, alnum = bytearray(b"." * 256), bytearray(b"." * 256)
    for char in range(256):
        letter = chr(char)
        if letter.isascii() and letter.isalnum():
            classes[char] = ord("l" if letter.islower() else "U" if letter.isupper() else "d")
            alnum[char] = ord("a")
    return bytes(classes), bytes(alnum)


def _may_have_candidates(text: str) -> bool:
    """False only when no `_CANDIDATES` pattern can match `text` (a necessary condition checked in C:
    the regexes cost ~40 ns a character, this ~2). Non-ASCII characters are never [A-Za-z0-9]; each
    becomes separator bytes, as it separates runs for the regexes."""
    classes, alnum = _case_classes()
    codes = text.encode("utf-8", "replace").translate(classes)
    if b"U" in codes and (b"lU" in codes or b"UUUUU" in codes):  # one-byte searches first: memchr
        return True
    if b"d" in codes and (
        b"ld" in codes or b"Ud" in codes or b"dl" in codes or b"dU" in codes or b"ddddddd" in codes
    ):
        return True
    return b"a" * 25 in codes.translate(alnum)


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
    patterns = _CANDIDATES if _may_have_candidates(text) else ()
    if not text.isascii():
        patterns = (_OTHER_CHAR, *patterns)
    hits = sorted({m.start() for pattern in patterns for m in pattern.finditer(text)})
    spans: list[tuple[int, int]] = []
    for hit in hits:
        if spans and hit < spans[-1][1]:
            continue  # inside the piece already taken
        start = max(text.rfind(" ", 0, hit), text.rfind("\n", 0, hit), text.rfind("\t", 0, hit)) + 1
        found = _SPACE.search(text, hit)
        spans.append((start, found.start() if found else len(text)))
    return spans


def split(text: str) -> tuple[str, Range, int]:
    """(the ordinary text, the range of the unusual pieces, their bytes)."""
    unusual, unusual_bytes = ZERO, 0
    rest = text
    for pattern in (_REPEAT, _LONG_SPACE):
        if pattern is _LONG_SPACE and len(rest) < _LONG_SPACE_MIN:
            break
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


def gibberish(text: str) -> Range | None:
    """Lowercase letter runs of which almost none is a common word: each costs 1 token to 1 per letter."""
    words = _WORD.findall(text.lower())
    if len(words) < 5 or sum(map(COMMON.__contains__, words)) >= 0.08 * len(words):
        return None
    return Range(len(words), sum(map(len, words)))


@dataclass(frozen=True, slots=True)
class Scan:
    """Everything `heuristic.estimate` reads of a non-empty text, in o200k terms, before a family's
    weights apply. `values` is None when no ordinary text is left (all of it was unusual)."""

    values: tuple[int, ...] | None  # `tokenizer.features` of the ordinary text
    script: tokenizer.Script  # of the ordinary text ("latin" when there is none)
    gibberish: Range | None  # only looked for in latin text
    unusual: Range
    unusual_bytes: int
    size: int  # the whole text's UTF-8 bytes


def scan(text: str) -> Scan:
    """The family-independent part of estimating `text` (non-empty); large texts' scans are remembered."""
    return textmemo.remembered("scan", text, _scan)


def _scan(text: str) -> Scan:
    ordinary_text, unusual, unusual_bytes = split(text)
    values, script, odd = None, "latin", None
    if ordinary_text.strip():
        values = tokenizer.features(ordinary_text)
        script = tokenizer.script_of(values)
        odd = gibberish(ordinary_text) if script == "latin" else None
    size = len(text.encode("utf-8", "replace"))
    return Scan(values, script, odd, unusual, unusual_bytes, size)


__all__ = ["COMMON", "ZERO", "Range", "Scan", "gibberish", "scan", "split"]
