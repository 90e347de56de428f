"""`compare_costs` over the whole catalog when the user declared a deployment without a price."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from polyroute.app import App
from polyroute.settings import load_settings
from polyroute_servers import cost as cost_server

UNPRICED = """
[[deployments]]
id = "no-price"
provider = "openai_compatible"
model = "m"
base_url = "https://llm.example/v1"
location = "SA"
context_window = 8192
max_output_tokens = 1024
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_an_unpriced_deployment_is_excluded_not_a_failed_comparison(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(UNPRICED, encoding="utf-8")
    settings = load_settings({"POLYROUTE_CONFIG": str(config), "POLYROUTE_DATA_DIR": str(tmp_path)})
    app = App(settings, principal="local:tester")
    try:
        async with Client(cost_server.build(app)) as client:
            for args in ({"prompt": "hi"}, {"prompt": "hi", "jurisdiction": "SA", "data_class": "public"}):
                result = await client.call_tool("compare_costs", args)
                assert not result.is_error, result.content
                compared = result.structured_content or {}
                assert compared["quotes"] and "no-price" not in [q["deployment"] for q in compared["quotes"]]
                reasons = {row["deployment"]: row["reason"] for row in compared["excluded"]}
                assert "has no price" in reasons["no-price"]
    finally:
        await app.aclose()
