"""A `base_url` carrying credentials is refused when the catalog loads — from the config file, through
the CLI and through the MCP catalog resource — with a message that says where keys belong, never the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from polyroute.app import App
from polyroute.catalog import load_catalog
from polyroute.errors import ConfigError
from polyroute.settings import load_settings
from polyroute_servers import suite
from polyroute_servers.cli import main

SECRET = "CANARYpass0000"
BAD_URLS = [
    f"https://svc:{SECRET}@llm.example.sa/v1",
    f"https://llm.example.sa/v1?api_key={SECRET}",
    f"https://llm.example.sa/v1?token={SECRET}&x=1",
]


def config_with(tmp_path: Path, base_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[[deployments]]
id = "riyadh-sovereign"
provider = "openai_compatible"
model = "allam-7b"
base_url = "{base_url}"
api_key_env = "RIYADH_KEY"
location = "SA"
context_window = 8000
max_output_tokens = 2000
""",
        encoding="utf-8",
    )
    return config


def assert_clear_refusal(message: str) -> None:
    assert "riyadh-sovereign" in message and "base_url" in message and "must not carry credentials" in message
    assert "api_key_env" in message and "polyroute keys set" in message
    assert SECRET not in message and "svc:" not in message


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_config_file_is_refused_at_catalog_load(tmp_path: Path, url: str) -> None:
    settings = load_settings({"POLYROUTE_CONFIG": str(config_with(tmp_path, url))})
    with pytest.raises(ConfigError) as caught:
        load_catalog(settings.deployments, where="config file")
    assert_clear_refusal(str(caught.value))


@pytest.mark.parametrize("url", BAD_URLS)
def test_catalog_list_json_refuses_with_a_usage_error_and_serves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config_with(tmp_path, url)))
    assert main(["catalog", "list", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert_clear_refusal(err)


@pytest.mark.anyio
async def test_the_mcp_catalog_resource_refuses_and_the_server_keeps_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config_with(tmp_path, BAD_URLS[0])))
    app = App(principal="local:tester")
    async with Client(suite.build(app)) as client:
        with pytest.raises(Exception) as caught:  # the client raises the server's JSON-RPC error
            await client.read_resource("polyroute://catalog")
        assert_clear_refusal(str(caught.value))
        policy = await client.read_resource("polyroute://policy")
        assert json.loads(policy.contents[0].text)  # type: ignore[union-attr]
    await app.aclose()


def test_a_clean_base_url_is_still_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYROUTE_CONFIG", str(config_with(tmp_path, "https://llm.example.sa/v1")))
    assert App().catalog.get("riyadh-sovereign").base_url == "https://llm.example.sa/v1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
