"""Results of counting a large text, kept for the most recent large texts, by digest.

Counting is linear but not free (a 4 MB prompt takes up to a second or two of hostile-input counting),
and it runs on a server's event loop when routing plans a call. Servers therefore count a large prompt
once in a worker thread first; the plan that follows on the event loop then finds the result here,
paying only a BLAKE2b digest of the text (~2 ms per MB, and hashlib lets other threads run meanwhile).
The text itself is not kept — prompts stay out of memory once their request is done — and small texts
are not remembered at all: recounting them costs less. Thread-safe; at most `ENTRIES` results.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")

MIN_CHARS = 4_096
"""Shorter texts are recounted: at the slowest (hostile) rate, 2 ms."""
ENTRIES = 256

_lock = threading.Lock()
_held: OrderedDict[tuple[str, bytes], object] = OrderedDict()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


def remembered(kind: str, text: str, compute: Callable[[str], T]) -> T:
    """`compute(text)`, or its result from an earlier call with the same `kind` and an equal text."""
    if len(text) < MIN_CHARS:
        return compute(text)
    key = (kind, _digest(text))
    with _lock:
        if key in _held:
            _held.move_to_end(key)
            return cast(T, _held[key])  # stored by this same kind's compute
    value = compute(text)
    with _lock:
        _held[key] = value
        while len(_held) > ENTRIES:
            _held.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _held.clear()


__all__ = ["ENTRIES", "MIN_CHARS", "clear", "remembered"]
