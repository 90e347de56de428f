"""The demo's stage: which providers are stand-ins, what the suite server is launched with."""

from __future__ import annotations

import tomllib
from pathlib import Path

from polyroute.catalog import load_catalog
from polyroute_servers.demo_setup import SOVEREIGN_ID, SOVEREIGN_KEY_ENV, build_stage, live_providers


def test_without_keys_every_provider_is_a_labelled_stand_in(tmp_path: Path) -> None:
    stage = build_stage(tmp_path, live=False, environ={})
    try:
        assert all("STAND-IN" in how for how in stage.providers.values())
        assert stage.env["ANTHROPIC_BASE_URL"] == stage.fakes.anthropic.url
        assert stage.env["OPENAI_BASE_URL"] == f"{stage.fakes.openai.url}/v1"
        assert stage.env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == stage.fakes.bedrock.url
        assert stage.env["POLYROUTE_DATA_DIR"] == str(tmp_path / "data")
    finally:
        stage.close()


def test_a_key_in_the_shell_is_not_used_without_live(tmp_path: Path) -> None:
    """The Quickstart promises no API keys: one found in the shell is not spent behind the user's back."""
    environ = {"ANTHROPIC_API_KEY": "sk-ant-real", "OPENAI_API_KEY": "sk-real", "AWS_PROFILE": "prod"}
    stage = build_stage(tmp_path, live=False, environ=environ)
    try:
        assert all("STAND-IN" in how for how in stage.providers.values())
        assert stage.live == frozenset()
        assert "sk-ant-real" not in stage.env.values() and "sk-real" not in stage.env.values()
        assert "AWS_PROFILE" not in stage.env
        assert stage.env["ANTHROPIC_BASE_URL"] == stage.fakes.anthropic.url
    finally:
        stage.close()


def test_with_live_a_key_in_the_shell_makes_that_provider_live_and_untouched(tmp_path: Path) -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-real", "PATH": "/usr/bin"}
    stage = build_stage(tmp_path, live=True, environ=environ)
    try:
        assert stage.providers["anthropic"].startswith("live")
        assert stage.env["ANTHROPIC_API_KEY"] == "sk-ant-real"
        assert "ANTHROPIC_BASE_URL" not in stage.env, "a live provider is not pointed at a fake"
        assert "STAND-IN" in stage.providers["openai"]
    finally:
        stage.close()


def test_only_live_uses_keys() -> None:
    keys = {"OPENAI_API_KEY": "sk-x", "AWS_PROFILE": "p"}
    assert live_providers(keys, live=False) == set()
    assert live_providers(keys, live=True) == {"openai", "bedrock"}


def test_demo_config_declares_the_sovereign_stand_in_as_a_valid_user_deployment(tmp_path: Path) -> None:
    stage = build_stage(tmp_path, live=False, environ={})
    try:
        config = tomllib.loads((tmp_path / "config.toml").read_text())
        sovereign = load_catalog(config["deployments"]).get(SOVEREIGN_ID)
        assert sovereign.processing_locations == ("SA",) and sovereign.storage_locations == ("SA",)
        assert sovereign.base_url == f"{stage.fakes.openai.url}/v1"
        assert sovereign.api_key_env == SOVEREIGN_KEY_ENV and SOVEREIGN_KEY_ENV in stage.env
    finally:
        stage.close()
