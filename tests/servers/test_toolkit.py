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
