"""The bundled catalog: it loads, every fact is sourced and dated, every location resolves, every
price reference prices with the offline price library."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest
from genai_prices import Usage, calc_price

from polyroute import locations
from polyroute.catalog import CAPABILITIES, Deployment, bundled_deployments, load_catalog
from polyroute.pricing import rates_for

BUNDLED = bundled_deployments()
TODAY = date(2026, 12, 4)


def raw_catalog() -> dict[str, object]:
    text = resources.files("polyroute").joinpath("data/deployments.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_bundled_catalog_covers_every_provider_the_issue_names() -> None:
    providers = {d.provider for d in BUNDLED}
    assert providers == {"anthropic", "openai", "bedrock", "azure_openai"}
    assert len(BUNDLED) >= 30
    assert all(d.origin == "bundled" for d in BUNDLED)


def test_ids_are_unique_in_the_file_itself() -> None:
    ids = [entry["id"] for entry in raw_catalog()["deployments"]]  # type: ignore[index, union-attr]
    assert len(ids) == len(set(ids)) == len(BUNDLED)


@pytest.mark.parametrize("deployment", BUNDLED, ids=lambda d: d.id)
def test_every_fact_has_a_dated_source(deployment: Deployment) -> None:
    assert len(deployment.sources) >= 2, "model facts and location facts each need a source"
    for source in deployment.sources:
        assert source.url.startswith("https://")
        assert source.fact
        assert date.fromisoformat(source.date) <= TODAY


@pytest.mark.parametrize("deployment", BUNDLED, ids=lambda d: d.id)
def test_locations_resolve_to_countries_or_any(deployment: Deployment) -> None:
    for where in (deployment.processing_locations, deployment.storage_locations):
        assert where
        assert where == (locations.ANY,) or all(code in locations.ISO_COUNTRIES for code in where)
    assert set(deployment.capabilities) <= set(CAPABILITIES)
    assert deployment.max_output_tokens <= deployment.context_window


@pytest.mark.parametrize("deployment", [d for d in BUNDLED if d.price_ref], ids=lambda d: d.id)
def test_genai_prices_can_price_every_price_ref(deployment: Deployment) -> None:
    ref = deployment.price_ref
    assert ref is not None
    usage = Usage(input_tokens=1000, output_tokens=100)
    price = calc_price(usage, model_ref=ref.model_ref, provider_id=ref.provider_id)
    assert price.total_price > 0


@pytest.mark.parametrize("deployment", BUNDLED, ids=lambda d: d.id)
def test_every_bundled_deployment_has_rates_through_the_pricing_module(deployment: Deployment) -> None:
    rates = rates_for(deployment)
    assert rates.input.base > 0 and rates.output.base >= rates.input.base


def test_anthropic_inference_geo_maps_to_locations() -> None:
    catalog = load_catalog()
    global_ = catalog.get("anthropic-claude-sonnet-5-5")
    us = catalog.get("anthropic-us-claude-sonnet-5-5")
    assert (global_.inference_geo, global_.processing_locations) == ("global", ("ANY",))
    assert (us.inference_geo, us.processing_locations, us.storage_locations) == ("us", ("US",), ("US",))
    assert us.price_ref is not None and us.price_ref.uplift == Decimal("1.1")
    assert global_.trains_on_inputs is False


def test_bedrock_profiles_expand_to_member_countries_and_global_is_anywhere() -> None:
    catalog = load_catalog()
    eu = catalog.get("bedrock-eu-claude-sonnet-5-5")
    assert {"DE", "FR", "IE", "GB", "CH"} <= set(eu.processing_locations)  # London and Zurich are members
    assert eu.storage_locations == ("DE",)  # the source Region
    assert catalog.get("bedrock-global-claude-sonnet-5-5").processing_locations == ("ANY",)
    apac = set(catalog.get("bedrock-apac-claude-sonnet-5-5").processing_locations)
    assert {"AE", "MY", "TH", "JP", "KR", "IN", "SG", "AU", "ID", "TW"} == apac  # issue 10: MY, TH added


def test_single_region_claude_entries_that_may_not_be_callable_are_not_offered() -> None:
    """Issue 10: Sonnet 4.6 is documented on Bedrock through profiles only; in-Region use is unverified."""
    catalog = load_catalog()
    for gone in ("bedrock-eu-central-1-claude-sonnet-4-6", "bedrock-us-east-1-claude-sonnet-4-6"):
        assert gone not in catalog
    for deployment in catalog:
        if deployment.provider == "bedrock" and "claude" in deployment.model:
            prefix = deployment.api_model.split(".")[0]
            assert prefix in locations.BEDROCK_PROFILES, deployment.id  # every Claude entry is a profile


def test_bedrock_call_path_is_recorded_per_model() -> None:
    catalog = load_catalog()
    assert catalog.get("bedrock-eu-claude-sonnet-4-6").bedrock_api == "converse"
    assert catalog.get("bedrock-eu-claude-sonnet-5-5").bedrock_api == "invoke"


def test_every_bundled_bedrock_entry_names_a_sourced_call_path() -> None:
    """No bundled Bedrock route rests on an unverified call path (checked 2026-12-04): Sonnet 4.6 on
    Converse (Anthropic's Bedrock page), every 5.x entry on InvokeModel with the Messages body (AWS's
    Messages API page), each citing its source."""
    bedrock = [d for d in load_catalog() if d.provider == "bedrock"]
    assert bedrock
    for deployment in bedrock:
        urls = {source.url for source in deployment.sources}
        if deployment.model == "claude-sonnet-4-6":
            assert deployment.bedrock_api == "converse", deployment.id
            assert any("claude-on-amazon-bedrock" in url for url in urls), deployment.id
        else:
            assert deployment.bedrock_api == "invoke", deployment.id
            assert any(url.endswith("/inference-messages-api.html") for url in urls), deployment.id
        assert all(source.date for source in deployment.sources), deployment.id


def test_corrected_limits() -> None:
    catalog = load_catalog()
    assert catalog.get("anthropic-claude-sonnet-4-6").max_output_tokens == 128_000
    astra = catalog.get("openai-gpt-6-astra")
    assert (astra.context_window, astra.max_input_tokens, astra.input_limit) == (1_050_000, 922_000, 922_000)
    assert not astra.fits(922_001, 1_000)  # inside the window, above the input limit
    assert astra.fits(922_000, 128_000)
    assert catalog.get("azure-global-gpt-5-1").input_limit == 400_000  # no cap: the window


def test_azure_and_aws_region_tables_cover_the_new_regions() -> None:
    assert locations.countries("azure:saudiarabiaeast") == {"SA"}
    assert locations.countries("aws:eusc-de-east-1") == {"DE"}
    assert locations.countries("azure:datazone-eu") == locations.EU
    assert {"JP", "AU", "IN", "SG", "KR"} <= (locations.countries("azure:datazone-apac") or set())
    assert locations.countries("azure:datazone-mars") is None


def test_openai_residency_regions_and_the_storage_only_uae_region() -> None:
    catalog = load_catalog()
    eu = catalog.get("openai-eu-gpt-6-1-sol")
    # Europe is "EEA and Switzerland" (issue 10)
    assert eu.data_residency == "eu" and set(eu.processing_locations) == locations.EEA | {"CH"}
    assert set(eu.storage_locations) == locations.EEA | {"CH"}
    ae = catalog.get("openai-ae-gpt-6-1-sol")
    assert (ae.processing_locations, ae.storage_locations) == (("ANY",), ("AE",))
    residency_regions = {d.data_residency for d in catalog if d.provider == "openai"}
    assert residency_regions == {None, "us", "eu", "au", "in", "jp", "ae"}


def test_azure_deployment_types_including_uae_north() -> None:
    catalog = load_catalog()
    assert catalog.get("azure-global-gpt-5-1").processing_locations == ("ANY",)
    assert set(catalog.get("azure-datazone-eu-gpt-5-1").processing_locations) == locations.EU
    uae = catalog.get("azure-uaenorth-gpt-5-1")
    assert uae.processing_locations == ("AE",)
    assert "AE" in uae.storage_locations


def test_model_facts_are_inherited_and_lookup_by_model_name_works() -> None:
    catalog = load_catalog()
    sonnet = catalog.of_model("claude-sonnet-5-5")
    assert {d.provider for d in sonnet} == {"anthropic", "bedrock"}
    assert {d.context_window for d in sonnet} == {1_000_000}
    assert catalog.of_model("eu.anthropic.claude-sonnet-5-5")[0].id == "bedrock-eu-claude-sonnet-5-5"
    assert catalog.get("openai-gpt-6-luna").quality_for("arabic") == 6
