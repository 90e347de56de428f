"""Results of counting a large text, kept for the few most recent large texts.

Counting is linear but not free (a 4 MB prompt takes up to a second or two of hostile-input counting),
and it runs on a server's event loop when routing plans a call. Servers therefore count a large prompt
once in a worker thread first; the plan that follows on the event loop then finds the result here and
only hashes the text. Small texts are not kept: recounting them costs less than remembering them.
Thread-safe; bounded by the total characters of the texts it holds (it keeps them, to compare exactly).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")

MIN_CHARS = 4_096
"""Shorter texts are recounted: at the slowest (hostile) rate, 2 ms."""
MAX_CHARS = 32 * 1024 * 1024
"""The most characters of text held at once (about 32 MB of ASCII, up to 4x that of emoji)."""

_lock = threading.Lock()
_held: OrderedDict[tuple[str, str], object] = OrderedDict()
_size = [0]


def remembered(kind: str, text: str, compute: Callable[[str], T]) -> T:
    """`compute(text)`, or its result from an earlier call with the same `kind` and an equal text."""
    if len(text) < MIN_CHARS:
        return compute(text)
    key = (kind, text)
    with _lock:
        if key in _held:
            _held.move_to_end(key)
            return cast(T, _held[key])  # stored by this same kind's compute
    value = compute(text)
    with _lock:
        if key not in _held:
            _held[key] = value
            _size[0] += len(text)
        while _size[0] > MAX_CHARS and _held:
            (_, old), _ = _held.popitem(last=False)
            _size[0] -= len(old)
    return value


def clear() -> None:
    with _lock:
        _held.clear()
        _size[0] = 0


__all__ = ["MAX_CHARS", "MIN_CHARS", "clear", "remembered"]
