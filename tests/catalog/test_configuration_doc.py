"""docs/configuration.md is executable: its sovereign example and every other TOML block load."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from polyroute.catalog import load_catalog
from polyroute.settings import load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
MARKER = "<!-- example: sovereign-deployment"


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)


def sovereign_example() -> str:
    """Exactly the fenced block that follows the marker comment in the doc."""
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    return toml_blocks(after)[0]


def test_sovereign_example_loads_through_load_catalog() -> None:
    entries = tomllib.loads(sovereign_example())["deployments"]
    catalog = load_catalog(entries)
    riyadh = catalog.get("riyadh-allam-7b")
    assert riyadh.origin == "user"
    assert riyadh.provider == "openai_compatible"
    assert riyadh.base_url == "https://llm.example.sa/v1"
    assert riyadh.api_key_env == "RIYADH_LLM_API_KEY"
    assert (riyadh.processing_locations, riyadh.storage_locations) == (("SA",), ("SA",))
    assert {"arabic", "json"} <= riyadh.capabilities
    assert riyadh.price is not None and str(riyadh.price.input_per_mtok) == "0.20"
    assert len(catalog) == len(load_catalog()) + 1  # the bundled catalog is still there


def test_sovereign_example_loads_through_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(sovereign_example(), encoding="utf-8")
    settings = load_settings({"POLYROUTE_CONFIG": str(config), "POLYROUTE_DATA_DIR": str(tmp_path)})
    assert settings.config_file == config
    assert load_catalog(settings.deployments).get("riyadh-allam-7b").model == "allam-7b-instruct"


BLOCKS = toml_blocks(DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.split("\n")[0])
def test_every_toml_block_in_the_doc_is_a_valid_config(block: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(block, encoding="utf-8")
    settings = load_settings({"POLYROUTE_CONFIG": str(config), "POLYROUTE_DATA_DIR": str(tmp_path)})
    load_catalog(settings.deployments)  # raises ConfigError on any bad entry


def test_inherited_bedrock_example_takes_the_bundled_model_facts() -> None:
    block = next(b for b in toml_blocks(DOC.read_text(encoding="utf-8")) if "jp.anthropic" in b)
    deployment = load_catalog(tomllib.loads(block)["deployments"]).get("bedrock-jp-claude-sonnet-4-6")
    assert deployment.context_window == 1_000_000 and deployment.max_output_tokens == 128_000
    assert deployment.processing_locations == ("JP",)
    assert deployment.sources  # the model's sources come along


@pytest.mark.slow
def test_cli_lists_the_sovereign_deployment_from_the_doc_example(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(sovereign_example(), encoding="utf-8")
    env = {**os.environ, "POLYROUTE_CONFIG": str(config)}
    cli = [sys.executable, "-m", "polyroute_servers.cli", "catalog", "list", "--json"]
    result = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["deployments"]
    riyadh = next(row for row in rows if row["id"] == "riyadh-allam-7b")
    assert riyadh["processing_locations"] == ["SA"]
    assert riyadh["origin"] == "user"
    assert any(row["id"] == "anthropic-claude-sonnet-5-5" for row in rows)


@pytest.mark.slow
def test_cli_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(sovereign_example().replace('location = "SA"', 'location = "KSA"'), encoding="utf-8")
    env = {**os.environ, "POLYROUTE_CONFIG": str(config)}
    cli = [sys.executable, "-m", "polyroute_servers.cli", "catalog", "list"]
    result = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "riyadh-allam-7b" in result.stderr and "location" in result.stderr and "KSA" in result.stderr
    assert f"config file {config}: deployment 'riyadh-allam-7b'" in result.stderr
    assert result.stderr.count("\n") == 1
