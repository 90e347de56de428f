"""'Did you mean …?' for names typed on the command line or in a config file."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, known: Iterable[str], *, n: int = 3) -> list[str]:
    """The known names nearest to `word` (typos first, then case-insensitive matches)."""
    names = list(dict.fromkeys(known))
    found = difflib.get_close_matches(word, names, n=n, cutoff=0.6)
    lowered = {name.lower(): name for name in names}
    found += [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)]
    return list(dict.fromkeys(found))[:n]


def did_you_mean(word: str, known: Iterable[str], *, show_all: bool = False) -> str:
    """'; did you mean 'x'?' — or, with `show_all` and nothing close, the whole (short) list."""
    names = list(known)
    near = closest(word, names)
    if near:
        return f"; did you mean {' or '.join(repr(name) for name in near)}?"
    return f"; known: {', '.join(names)}" if show_all else ""
