"""check_residency remembers verdicts per (policy version, jurisdiction, data class, deployment) and never
answers from the memory for another catalog's entry under the same id."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from polyroute.app import App
from polyroute.settings import load_settings
from polyroute_servers import residency

pytestmark = pytest.mark.anyio


def app_where_allam_runs(location: str) -> App:
    deployment = {
        "id": "riyadh-allam", "provider": "openai_compatible", "model": "allam-2-7b",
        "base_url": "https://llm.example.sa/v1", "location": location, "context_window": 4096,
        "max_output_tokens": 1024,
    }  # fmt: skip
    settings = load_settings()
    return App(settings.model_copy(update={"deployments": [deployment]}), principal="local:tester")


async def verdict(app: App, **args: Any) -> dict[str, Any]:
    async with Client(residency.build(app)) as client:
        result = await client.call_tool("check_residency", args)
    assert not result.is_error and result.structured_content is not None, result
    return result.structured_content


async def test_the_same_id_in_another_catalog_is_judged_on_its_own_entry() -> None:
    ask = {"jurisdiction": "SA", "data_class": "personal", "deployment": "riyadh-allam"}
    in_riyadh, in_frankfurt = app_where_allam_runs("SA"), app_where_allam_runs("DE")
    assert in_riyadh.policy.version == in_frankfurt.policy.version
    for _ in range(2):  # the second round is answered from memory, each from its own App's entry
        assert (await verdict(in_riyadh, **ask))["allowed"] is True
        found = await verdict(in_frankfurt, **ask)
        assert found["allowed"] is False and "DE" in found["processing_locations"]


async def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(residency, "VERDICTS_KEPT", 3)
    app = App(principal="local:tester")
    for data_class in ("public", "internal", "personal", "health", "financial_regulated"):
        ask = {"jurisdiction": "SA", "data_class": data_class, "deployment": "bedrock-eu-claude-sonnet-4-6"}
        assert (await verdict(app, **ask))["data_class"] == data_class
        assert len(residency._verdicts) <= 3  # pyright: ignore[reportPrivateUsage]
