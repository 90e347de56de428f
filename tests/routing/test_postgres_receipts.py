"""A routed call with a PostgreSQL audit store that cannot take its receipt never reaches a provider."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from routing_fixtures import Clock, make_app

from polyroute.errors import PolyrouteError
from polyroute.routing import RouteRequest
from polyroute.testing import FakeProviders
from polyroute.testing.pgcluster import Cluster
from polyroute.types import CompletionRequest


def test_a_routed_call_is_refused_before_any_provider_when_postgres_is_unreachable(
    postgres_url: str, postgres_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYROUTE_PG_CONNECT_TIMEOUT", "1")
    request = RouteRequest.model_validate({
        "request": CompletionRequest.from_prompt("Hello", max_tokens=50), "principal": "local:tester",
        "jurisdiction": "SA", "data_class": "personal",
    })  # fmt: skip
    dbname = postgres_url.rsplit("/", 1)[1]
    with FakeProviders() as fakes:
        for name, value in fakes.env().items():
            monkeypatch.setenv(name, value)
        app = make_app(fakes, tmp_path / "data", Clock())
        app.settings.audit.url = postgres_url
        postgres_cluster.allow_connections(dbname, False)
        with pytest.raises(PolyrouteError, match="cannot write receipts"):
            asyncio.run(app.router.complete(request))
        assert [r for server in fakes.servers for r in server.seen()] == []
        postgres_cluster.allow_connections(dbname, True)

        async def routed() -> None:
            result = await app.router.complete(request)
            intent, outcome = await app.audit.tail(5)  # written ahead: the intent, then the outcome
            assert (intent.event_type, outcome.event_type) == ("intent", "completion")
            assert result.receipt_id == intent.id == outcome.intent_id
            await app.aclose()

        asyncio.run(routed())
        assert len([r for server in fakes.servers for r in server.seen()]) == 1

        async def lost_while_ready_is_trusted() -> None:
            """`ready` trusts a commit for a moment (READY_FOR_S); inside it, the intent's own append
            stops the call (on a slow machine the window may be over: then `ready` does)."""
            await app.router.complete(request)
            postgres_cluster.allow_connections(dbname, False)
            try:
                with pytest.raises(PolyrouteError, match="append failed|cannot write receipts"):
                    await app.router.complete(request)
            finally:
                postgres_cluster.allow_connections(dbname, True)
            await app.aclose()

        asyncio.run(lost_while_ready_is_trusted())
        assert len([r for server in fakes.servers for r in server.seen()]) == 2
