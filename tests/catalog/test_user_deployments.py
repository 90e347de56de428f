"""User deployments from config: overrides by id, and every bad entry a ConfigError that names the
deployment and the field (never a traceback, never a silently wrong location)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyroute.catalog import load_catalog
from polyroute.errors import ConfigError, UnknownDeployment
from polyroute.settings import load_settings


def sovereign(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "jeddah-vllm",
        "provider": "openai_compatible",
        "model": "jais-13b-chat",
        "base_url": "http://10.0.0.5:8000/v1",
        "location": "SA",
        "capabilities": ["arabic"],
        "context_window": 8192,
        "max_output_tokens": 1024,
        "price": {"input_per_mtok": "0.1", "output_per_mtok": "0.3"},
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


def error_for(entry: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_catalog([entry])
    return str(caught.value)


def test_a_user_entry_with_a_bundled_id_replaces_it() -> None:
    bundled = load_catalog().get("bedrock-eu-claude-sonnet-4-6")
    override = {"id": bundled.id, "provider": "bedrock", "model": bundled.model,
                "api_model": bundled.api_model, "aws_region": "eu-central-1", "location": "DE",
                "retention_days": 0, "price": {"input_per_mtok": "2.5", "output_per_mtok": "12"}}  # fmt: skip
    catalog = load_catalog([override])
    replaced = catalog.get(bundled.id)
    assert replaced.origin == "user"
    assert replaced.retention_days == 0
    assert replaced.price is not None and replaced.price.output_per_mtok == 12
    assert replaced.context_window == bundled.context_window  # inherited from the bundled model facts
    assert len(catalog) == len(load_catalog())


@pytest.mark.parametrize(
    ("changes", "field", "detail"),
    [
        ({"location": "KSA"}, "location", "KSA"),
        ({"location": "sa"}, "location", "sa"),
        ({"location": None, "processing_locations": ["aws:mars-1"], "storage_locations": ["SA"]},
         "processing_locations", "aws:mars-1"),
        ({"context_window": None}, "context_window", "missing"),
        ({"base_url": None}, "base_url", "openai_compatible"),
        ({"base_url": "llm.example.sa"}, "base_url", "pattern"),
        ({"provider": "vllm"}, "provider", "openai_compatible"),
        ({"capabilities": ["telepathy"]}, "capabilities", "vision"),
        ({"api_key_env": "MY KEY"}, "api_key_env", "pattern"),
        ({"max_output_tokens": 100_000}, "max_output_tokens", "context_window"),
        ({"inference_geo": "eu"}, "inference_geo", "global, us"),
        ({"colour": "blue"}, "colour", "unknown key"),
        ({"contex_window": 8}, "contex_window", "did you mean 'context_window'"),
        ({"sources": [{"fact": "x", "url": "https://x", "date": "last week"}]}, "sources", "pattern"),
    ],
)  # fmt: skip
def test_bad_entries_name_the_deployment_and_the_field(
    changes: dict[str, Any], field: str, detail: str
) -> None:
    message = error_for(sovereign(**changes))
    assert message.startswith("config file: deployment 'jeddah-vllm': ")
    assert f": {field}" in message or f": unknown key {field!r}" in message
    assert detail in message
    assert "\n" not in message


def test_an_entry_without_an_id_is_still_reported() -> None:
    assert "deployment '?': id:" in error_for(sovereign(id=None))


def test_duplicate_user_ids_are_refused() -> None:
    with pytest.raises(ConfigError, match="'jeddah-vllm': id: declared more than once"):
        load_catalog([sovereign(), sovereign()])


def test_bedrock_entry_needs_its_region() -> None:
    entry = {"id": "bedrock-me-central-1-x", "provider": "bedrock", "model": "claude-sonnet-4-6",
             "location": "aws:me-central-1"}  # fmt: skip
    assert "aws_region: required for provider bedrock" in error_for(entry)


SA = ["SA"]


def test_locations_accept_regions_groups_and_profiles() -> None:
    catalog = load_catalog(
        [
            sovereign(id="a", location="gcp:me-central2"),
            sovereign(id="b", location=None, processing_locations=["GCC"], storage_locations=["AE"]),
            sovereign(id="c", location=None, processing_locations=["bedrock:global"], storage_locations=SA),
        ]
    )
    assert catalog.get("a").processing_locations == ("SA",)
    assert set(catalog.get("b").processing_locations) == {"SA", "AE", "QA", "BH", "KW", "OM"}
    assert catalog.get("c").processing_locations == ("ANY",)
    assert catalog.get("c").anywhere


def test_config_file_errors_name_the_file_and_stop_at_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[deployments]]\nid = "x"\nprovider = "openai_compatible"\n', encoding="utf-8")
    settings = load_settings({"POLYROUTE_CONFIG": str(config), "POLYROUTE_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="deployment 'x': model: required field is missing"):
        load_catalog(settings.deployments)


def test_prices_are_numbers_in_json_and_decimals_in_python() -> None:
    catalog = load_catalog([sovereign()])
    deployment = catalog.get("jeddah-vllm")
    assert deployment.price is not None and deployment.price.input_per_mtok == Decimal("0.1")
    document = json.loads(deployment.model_dump_json())
    assert document["price"]["input_per_mtok"] == 0.1 and document["price"]["output_per_mtok"] == 0.3
    bundled = json.loads(catalog.get("bedrock-eu-claude-sonnet-4-6").model_dump_json())
    assert isinstance(bundled["price_ref"]["uplift"], float)


def test_an_unknown_id_suggests_the_closest_ids_first() -> None:
    with pytest.raises(UnknownDeployment) as caught:
        load_catalog().get("bedrock-eu-claude-sonnet-4.6")
    assert "(e.g. bedrock-eu-claude-sonnet-4-6, " in str(caught.value)


def test_a_user_bedrock_entry_inherits_its_models_call_path() -> None:
    """A declared Bedrock entry of a bundled Claude 5.x model goes through InvokeModel like the
    bundled ones; a model the catalog has no facts for stays on Converse (the default)."""
    common = {
        "provider": "bedrock",
        "aws_region": "eu-west-3",
        "processing_locations": ["aws:eu-west-3"],
        "storage_locations": ["aws:eu-west-3"],
        "context_window": 200_000,
        "max_output_tokens": 8_000,
    }
    catalog = load_catalog([
        {**common, "id": "paris-sonnet-5-5", "model": "claude-sonnet-5-5",
         "api_model": "anthropic.claude-sonnet-5-5"},
        {**common, "id": "paris-llama", "model": "llama-9", "api_model": "meta.llama-9"},
    ])  # fmt: skip
    assert catalog.get("paris-sonnet-5-5").bedrock_api == "invoke"
    assert catalog.get("paris-llama").bedrock_api is None
