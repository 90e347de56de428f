"""Price math against figures computed by hand from genai-prices 0.2.3's published rates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.cost.conftest import deployment

from polyroute import cost, pricing
from polyroute.errors import ConfigError
from polyroute.types import Usage

SONNET = deployment("anthropic-sonnet")  # $3 in / $15 out / $0.30 cache read / $3.75 cache write per MTok
GPT54 = deployment(
    "openai-gpt-5-4", provider="openai", model="gpt-5.4", context_window=1_050_000, max_output_tokens=128_000,
    price_ref={"model_ref": "gpt-5.4", "provider_id": "openai"},
)  # fmt: skip  # $2.5 / $15, above 272k input: $5 / $22.5


def test_claude_sonnet_input_and_output() -> None:
    usd = cost.cost_of(SONNET, Usage(input_tokens=10_000, output_tokens=1_000))
    assert usd == Decimal("0.045")  # 10k × $3/M + 1k × $15/M
    assert isinstance(usd, Decimal)


def test_cache_reads_and_writes_are_billed_at_their_own_rates() -> None:
    usage = Usage(input_tokens=5_000, cache_read_tokens=4_000, cache_write_tokens=1_000, output_tokens=500)
    # 5,000 uncached × $3 + 4,000 × $0.30 + 1,000 × $3.75 + 500 × $15, per million
    assert cost.cost_of(SONNET, usage) == Decimal("0.02745")


def test_input_tokens_exclude_cache_tokens_so_nothing_is_undercounted() -> None:
    # The ambiguous case of an "inclusive" reading: 500 uncached + 100 cache reads must bill all 500.
    usage = Usage(input_tokens=500, cache_read_tokens=100, output_tokens=0)
    assert cost.cost_of(SONNET, usage) == Decimal("0.00153")  # 500 × $3 + 100 × $0.30, per million


def test_reasoning_tokens_are_part_of_output_not_added_again() -> None:
    plain = cost.cost_of(GPT54, Usage(input_tokens=1_000, output_tokens=2_000))
    assert (
        cost.cost_of(GPT54, Usage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_500)) == plain
    )


def test_gpt_5_4_long_context_tier_applies_to_every_token_above_272k() -> None:
    at_threshold = cost.cost_of(GPT54, Usage(input_tokens=272_000, output_tokens=1_000))
    assert at_threshold == Decimal("0.695")  # 272k × $2.5 + 1k × $15: the tier starts *above* 272k
    above = cost.cost_of(GPT54, Usage(input_tokens=300_000, output_tokens=1_000))
    assert above == Decimal("1.5225")  # 300k × $5 + 1k × $22.5


def test_regional_uplift_on_the_global_bedrock_price() -> None:
    eu = deployment(
        "bedrock-eu-sonnet", provider="bedrock", api_model="eu.anthropic.claude-sonnet-4-6", location="EU",
        aws_region="eu-central-1",
        price_ref={"model_ref": "global.anthropic.claude-sonnet-4-6", "provider_id": "aws", "uplift": "1.1"},
    )  # fmt: skip
    assert cost.cost_of(eu, Usage(input_tokens=1_000_000, output_tokens=100_000)) == Decimal(
        "4.95"
    )  # 3.3 + 1.65
    assert "× 1.1 uplift" in pricing.rates_for(eu).source


def test_genai_prices_regional_entry_equals_global_times_uplift() -> None:
    regional = deployment(
        "bedrock-eu-sonnet-regional", provider="bedrock", location="EU", aws_region="eu-central-1",
        price_ref={"model_ref": "eu.anthropic.claude-sonnet-4-6", "provider_id": "aws"},
    )  # fmt: skip
    assert cost.cost_of(regional, Usage(input_tokens=1_000_000, output_tokens=100_000)) == Decimal("4.95")


def test_uplift_on_an_already_regional_price_is_refused() -> None:
    double = deployment(
        "bedrock-eu-double", provider="bedrock", location="EU", aws_region="eu-central-1",
        price_ref={"model_ref": "eu.anthropic.claude-sonnet-4-6", "provider_id": "aws", "uplift": "1.1"},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="twice"):
        cost.cost_of(double, Usage(input_tokens=1))


def test_explicit_price_overrides_the_library_and_takes_no_uplift() -> None:
    sovereign = deployment(
        "riyadh-allam", provider="openai_compatible", model="allam-2-7b", location="SA",
        base_url="http://127.0.0.1:9/v1", price={"input_per_mtok": "0.40", "output_per_mtok": "1.20"},
        price_ref={"model_ref": "claude-sonnet-4-6", "provider_id": "anthropic", "uplift": "1.5"},
    )  # fmt: skip
    usage = Usage(input_tokens=1_000, cache_read_tokens=1_000, output_tokens=1_000)
    assert cost.cost_of(sovereign, usage) == Decimal("0.002")  # 2k × $0.40 (cache read = input) + 1k × $1.20
    assert "no cache-read price" in " ".join(pricing.rates_for(sovereign).notes)


def test_batch_rates_from_the_library_and_from_an_explicit_discount() -> None:
    usage = Usage(input_tokens=10_000, output_tokens=1_000)
    assert cost.cost_of(SONNET, usage, batch=True) == Decimal("0.0225")  # $1.50 / $7.50: half price
    own = deployment("own", price={"input_per_mtok": "2", "output_per_mtok": "4", "batch_discount": "0.25"})
    assert cost.cost_of(own, usage, batch=True) == Decimal("0.018")  # (20,000 + 4,000) × 0.75 / M


def test_a_deployment_without_any_price_is_a_clear_config_error() -> None:
    free = deployment("no-price", price_ref=None)
    with pytest.raises(ConfigError, match="no price"):
        cost.cost_of(free, Usage(input_tokens=1))
    unknown = deployment("bad-ref", price_ref={"model_ref": "no-such-model-xyz", "provider_id": "anthropic"})
    with pytest.raises(ConfigError, match="no-such-model-xyz"):
        cost.cost_of(unknown, Usage(input_tokens=1))


@settings(max_examples=60, deadline=None)
@given(
    uncached=st.integers(0, 600_000),
    cache_read=st.integers(0, 100_000),
    cache_write=st.integers(0, 100_000),
    output=st.integers(0, 100_000),
    which=st.sampled_from([("claude-sonnet-4-6", "anthropic"), ("gpt-5.4", "openai"), ("gpt-4o", "openai")]),
)
def test_cached_rates_agree_with_genai_prices_calc_price(
    uncached: int, cache_read: int, cache_write: int, output: int, which: tuple[str, str]
) -> None:
    """The per-token cache must price exactly as genai-prices' own calc_price, tiers included."""
    model_ref, provider_id = which
    if provider_id == "openai":
        cache_write = 0  # OpenAI bills no cache writes
    target = deployment(
        f"prop-{provider_id}", provider=provider_id, model=model_ref,
        price_ref={"model_ref": model_ref, "provider_id": provider_id},
    )  # fmt: skip
    total_input = uncached + cache_read + cache_write
    ours = cost.cost_of(
        target,
        Usage(input_tokens=uncached, output_tokens=output, cache_read_tokens=cache_read,
              cache_write_tokens=cache_write),
    )  # fmt: skip
    theirs = calc_price(
        GenaiUsage(input_tokens=total_input, output_tokens=output, cache_read_tokens=cache_read,
                   cache_write_tokens=cache_write),
        model_ref=model_ref, provider_id=provider_id,
    ).total_price  # fmt: skip
    assert ours == theirs
