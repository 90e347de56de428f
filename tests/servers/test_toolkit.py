"""The toolkit's helpers on their own, without a client."""

from __future__ import annotations

from typing import Any, cast

import anyio
import pytest

from polyroute_servers.toolkit import Context, with_heartbeat

pytestmark = pytest.mark.anyio


class GoneClient:
    """A request context whose client stopped listening: every progress notification fails."""

    def __init__(self) -> None:
        self.tries = 0

    async def report_progress(self, *_: Any) -> None:
        self.tries += 1
        raise anyio.BrokenResourceError


async def test_undeliverable_progress_never_cancels_the_provider_call() -> None:
    async def provider_call() -> str:
        await anyio.sleep(0.3)
        return "answer"

    gone = GoneClient()
    assert await with_heartbeat(cast(Context, gone), provider_call(), total=2, every=0.05) == "answer"
    assert gone.tries == 1  # it stops trying after the first failure


async def test_a_tool_finds_the_app_of_the_server_answering_it() -> None:
    from mcp import Client

    from polyroute.app import App
    from polyroute_servers import residency

    args = {"jurisdiction": "SA", "data_class": "public", "deployment": "bedrock-eu-claude-sonnet-4-6"}
    first, second = App(principal="local:one"), App(principal="local:two")
    async with Client(residency.build(first)) as one, Client(residency.build(second)) as two:
        for client, app in ((one, first), (two, second)):
            result = await client.call_tool("check_residency", args)
            assert not result.is_error and result.structured_content
            assert result.structured_content["policy_version"] == app.policy.version
    assert "policy" in first.__dict__ and "policy" in second.__dict__  # each server used its own App
