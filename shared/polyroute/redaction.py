"""Scrubbing API keys out of text that came back from a provider, in every form derivable from the key.

Provider error bodies echo keys: whole, masked (`sk-abc1**********77aa`), upper-cased, base64-encoded
(an Authorization header quoted back), percent- or JSON-escaped. Redaction therefore does not look for
the key alone: it looks for any run of 8 consecutive characters (case-insensitive) of the key or of an
encoding of it — base64 and urlsafe base64 at each of the three byte alignments a key can have inside a
longer encoded string, hex, percent-encoding, `\\uXXXX` escapes — and widens each hit to the whole
run. Masked tokens (three or more `*`/`•`) are removed whatever they mask; a `…`/`...` mask when its
visible ends are the key's own. Anything key-shaped (`sk-…`, `AKIA…`) goes too, key known or not.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
GRAM = 8  # a run of this many key characters in a row is taken as an echo of the key
KEY_SHAPED = re.compile(r"\b(sk-[A-Za-z0-9_\-*.]{4,}|AKIA[A-Z0-9]{12,}|key-[A-Za-z0-9]{16,})")
_STAR_MASKED = re.compile(r"[\w\-+/=]*[*•●]{3,}[\w\-+/=]*")
_DOT_MASKED = re.compile(r"([\w\-+/=]*)(?:…|\.{3,})([\w\-+/=]*)")
_TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-%\\")
_RUNS = re.compile(rf"(?:{re.escape(REDACTED)})+")


def forms(key: str) -> tuple[str, ...]:
    """The strings an echo of `key` may take, besides case changes (matching ignores case)."""
    raw = key.encode("utf-8", "surrogatepass")
    found = [key, raw.hex(), quote(key, safe=""), quote_plus(key), "".join(f"\\u{ord(c):04x}" for c in key)]
    for skip in range(3):  # the key starting at any offset mod 3 of a longer base64-encoded string
        core = raw[skip:]
        core = core[: len(core) - len(core) % 3]
        if core:
            found += [base64.b64encode(core).decode(), base64.urlsafe_b64encode(core).decode()]
    return tuple(dict.fromkeys(form for form in found if len(form) >= 4))


@functools.lru_cache(maxsize=64)
def _grams(key: str) -> dict[int, frozenset[str]]:
    """Lower-cased runs to look for, by length: every GRAM-long run of every form (shorter forms whole)."""
    by_size: dict[int, set[str]] = {}
    for form in forms(key):
        size = min(GRAM, len(form))
        lowered = form.lower()
        by_size.setdefault(size, set()).update(lowered[i : i + size] for i in range(len(lowered) - size + 1))
    return {size: frozenset(grams) for size, grams in by_size.items()}


def _spans(text: str, key: str) -> list[tuple[int, int]]:
    """Where runs of the key's forms occur in `text`, each widened to its whole token, merged."""
    lowered = text.lower()
    hits: list[tuple[int, int]] = []
    for size, grams in _grams(key).items():
        hits += [(i, i + size) for i in range(len(lowered) - size + 1) if lowered[i : i + size] in grams]
    widened: list[tuple[int, int]] = []
    for span in _merge(hits):  # sorted: a span ending inside the last widened one needs no second walk
        if not widened or span[1] > widened[-1][1]:
            widened.append(_widen(text, span))
    return _merge(widened)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _widen(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """A hit widened to the whole token around it: the rest of a base64 or escaped run goes too."""
    start, end = span
    while start > 0 and text[start - 1] in _TOKEN:
        start -= 1
    while end < len(text) and text[end] in _TOKEN:
        end += 1
    return start, end


def _without(text: str, key: str) -> str:
    pieces: list[str] = []
    done = 0
    for start, end in _spans(text, key):
        pieces += [text[done:start], REDACTED]
        done = end
    text = "".join([*pieces, text[done:]])
    lowered = key.lower()

    def dotted(match: re.Match[str]) -> str:
        head, tail = match.group(1).lower(), match.group(2).lower()
        ours = (len(head) >= 3 and lowered.startswith(head)) or (len(tail) >= 3 and lowered.endswith(tail))
        return REDACTED if ours else match.group(0)

    return _DOT_MASKED.sub(dotted, text)


def redact(text: str, *keys: str | None) -> str:
    """`text` with every form of the given keys, masked tokens and anything key-shaped as `[redacted]`."""
    for key in keys:
        if key and len(key) >= 4:
            text = _without(text, key)
    text = _STAR_MASKED.sub(lambda m: REDACTED if m.group(0).strip("*•●") else m.group(0), text)
    return _RUNS.sub(REDACTED, KEY_SHAPED.sub(REDACTED, text))
