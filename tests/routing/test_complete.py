"""Routed calls end to end: real SDKs against the loopback fakes, a real audit store, a real ledger."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from routing_fixtures import TINY_BUDGET, Clock, make_app

from polyroute.app import App
from polyroute.audit.receipt import find_receipt
from polyroute.budget import Budgets
from polyroute.catalog import Catalog, Limits
from polyroute.errors import BudgetExceeded, NoRoute, PolicyDenied
from polyroute.routing import RoutedCompletion, RouteRequest
from polyroute.settings import Budget
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

NON_COMPLIANT_SA = ("de-cheapest-model", "us-declared-model")


def route(prompt: str = "Hello router", **fields: object) -> RouteRequest:
    request = CompletionRequest.from_prompt(prompt, max_tokens=100)
    return RouteRequest.model_validate({"request": request, "principal": "local:tester", **fields})


def seen_models(fakes: FakeProviders) -> list[str | None]:
    return [r.model for server in fakes.servers for r in server.seen()]


def details_of(event: object) -> dict[str, object]:
    return getattr(event, "details")  # noqa: B009


async def complete(app: App, request: RouteRequest) -> RoutedCompletion:
    try:
        return await app.router.complete(request)
    finally:
        await app.providers.aclose()


def test_success_returns_text_costs_attempts_and_a_receipt(app: App, fakes: FakeProviders) -> None:
    async def go() -> None:
        result = await app.router.complete(
            route(jurisdiction="SA", data_class="personal", strategy="cheapest")
        )
        assert result.deployment == "sa-cheap" and "Hello router" in result.text
        assert result.cost_usd > 0 and result.estimated_cost_usd > 0
        assert [a.ok for a in result.attempts] == [True]
        event = await find_receipt(app.audit, result.receipt_id)
        assert event is not None and event.event_type == "completion" and event.status == "completed"
        assert event.deployment == "sa-cheap" and event.cost_usd == result.cost_usd
        assert event.intent is not None and event.intent.id == result.receipt_id == event.intent_id
        assert event.intent.event_type == "intent" and event.intent_seq == event.intent.seq < event.seq
        assert event.intent.details["candidates"] == details_of(event)["candidates"]
        details = event.details
        assert event.policy_version == app.policy.version and event.request_hash
        assert details["cost_gap_usd"] == pytest.approx(float(result.cost_usd - result.estimated_cost_usd))
        assert {e["deployment"] for e in details["exclusions"]} == {"de-cheapest", "us-declared"}
        assert {e["reason"] for e in details["exclusions"]} == {"denied by rule SA/personal"}
        assert "Hello router" not in event.model_dump_json()  # only digests of the text
        await app.aclose()

    asyncio.run(go())
    assert seen_models(fakes) == ["sa-cheap-model"]


def test_cheapest_overloaded_falls_back_to_next_with_attempts(app: App, fakes: FakeProviders) -> None:
    fakes.anthropic.inject("sa-cheap-model", Fault(status=529, retry_after=0, times=3))
    result = asyncio.run(complete(app, route(jurisdiction="SA", data_class="personal", strategy="cheapest")))
    assert result.deployment == "sa-mid"
    assert [(a.deployment, a.ok) for a in result.attempts] == [("sa-cheap", False)] * 3 + [("sa-mid", True)]
    assert result.attempts[0].status == 529 and result.attempts[0].retryable
    assert seen_models(fakes) == ["sa-cheap-model"] * 3 + ["sa-mid-model"]


def test_every_compliant_failing_never_touches_a_non_compliant_deployment(
    app: App, fakes: FakeProviders
) -> None:
    fakes.anthropic.inject("sa-cheap-model", Fault(status=401, times=None))
    for model in ("sa-mid-model", "sa-pricey-model"):
        fakes.openai.inject(model, Fault(status=503, retry_after=0, times=None))

    async def go() -> None:
        with pytest.raises(NoRoute) as raised:
            await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        message = str(raised.value)
        for deployment in ("sa-cheap", "sa-mid", "sa-pricey", "de-cheapest", "us-declared"):
            assert deployment in message
        stages = {(e.deployment, e.stage) for e in raised.value.exclusions}
        assert ("sa-mid", "failed") in stages and ("de-cheapest", "residency") in stages
        intent, event = reversed([e async for e in _events(app)])
        assert intent.event_type == "intent" and event.intent_id == intent.id
        assert event.event_type == "failure" and event.allowed is True
        assert len(event.details["attempts"]) == 1 + 3 + 3
        assert sorted(event.details["tried"]) == ["sa-cheap", "sa-mid", "sa-pricey"]
        await app.aclose()

    asyncio.run(go())
    assert not set(seen_models(fakes)) & set(NON_COMPLIANT_SA)


async def _events(app: App):  # type: ignore[no-untyped-def]
    from polyroute.audit import EventQuery

    for event in await app.audit.query(EventQuery()):
        yield event


def test_pinned_deployment_denied_by_policy_is_refused_not_rerouted(app: App, fakes: FakeProviders) -> None:
    with pytest.raises(PolicyDenied, match="de-cheapest may not take personal data for SA") as raised:
        asyncio.run(complete(app, route(model="de-cheapest", jurisdiction="SA", data_class="personal")))
    assert raised.value.verdict is not None and not raised.value.verdict.allowed
    assert seen_models(fakes) == []


def test_pinned_model_name_routes_among_its_deployments(app: App, fakes: FakeProviders) -> None:
    result = asyncio.run(complete(app, route(model="sa-mid-model", jurisdiction="SA", data_class="personal")))
    assert result.deployment == "sa-mid"


def test_breaker_opens_then_recovers_after_cooldown(app: App, fakes: FakeProviders, clock: Clock) -> None:
    fakes.anthropic.inject("sa-cheap-model", Fault(status=529, retry_after=0, times=6))
    request = route(jurisdiction="SA", data_class="personal", strategy="cheapest")
    for _ in range(2):  # two failed calls (each after its retries) open the breaker
        assert asyncio.run(complete(app, request)).deployment == "sa-mid"
    assert app.router.health.state("sa-cheap") == "open"
    fakes.clear()
    plan = app.router.plan(request)
    assert ("sa-cheap", "health") in {(e.deployment, e.stage) for e in plan.exclusions}
    assert asyncio.run(complete(app, request)).deployment == "sa-mid"
    assert "sa-cheap-model" not in seen_models(fakes)

    clock.now += 31  # cooldown over: one probe goes through and closes the breaker
    assert asyncio.run(complete(app, request)).deployment == "sa-cheap"
    assert app.router.health.state("sa-cheap") == "closed"


def test_budget_refusal_before_any_provider_request(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    app = make_app(fakes, tmp_path / "data", clock, TINY_BUDGET)

    async def go() -> None:
        with pytest.raises(BudgetExceeded, match="budget") as raised:
            await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        assert "more allowed deployments likewise" in str(raised.value)  # not just the first one named
        assert "$-" not in str(raised.value)
        (event,) = [e async for e in _events(app)]
        assert event.event_type == "refusal" and event.details["error"] == "BudgetExceeded"
        await app.aclose()

    asyncio.run(go())
    assert seen_models(fakes) == []


def test_fifty_concurrent_calls_keep_the_ledger_exact(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    request = route(jurisdiction="SA", data_class="personal", model="sa-mid")
    probe = make_app(fakes, tmp_path / "probe", clock)
    max_cost = probe.router.plan(request).candidates[0].max_cost_usd
    limit = max_cost * 20 + max_cost / 2  # room for 20 reservations at a time, well under 50 calls
    app = make_app(
        fakes, tmp_path / "data", clock, [Budget(scope="team:legal", period="day", limit_usd=limit)]
    )

    async def one() -> RoutedCompletion | BudgetExceeded:
        try:
            return await app.router.complete(request)
        except BudgetExceeded as refused:
            return refused

    async def go() -> list[RoutedCompletion | BudgetExceeded]:
        try:
            return await asyncio.gather(*(one() for _ in range(50)))
        finally:
            await app.aclose()

    outcomes = asyncio.run(go())
    done = [o for o in outcomes if isinstance(o, RoutedCompletion)]
    (status,) = Budgets(app.settings).status("local:tester")
    assert status.spent_usd == sum((o.cost_usd for o in done), Decimal(0))
    assert status.reserved_usd == 0
    assert status.spent_usd <= limit
    assert len(done) >= 20


def test_reported_inference_location_outside_policy_is_flagged(app: App, fakes: FakeProviders) -> None:
    async def go() -> None:
        result = await app.router.complete(
            route(model="us-declared", jurisdiction="US", data_class="personal")
        )
        assert result.inference_geo == "global" and result.residency_mismatch
        event = await find_receipt(app.audit, result.receipt_id)
        assert event is not None and event.details["residency_mismatch"] is True
        await app.aclose()

    asyncio.run(go())


def test_reported_location_outside_the_declared_ones_is_flagged_even_when_policy_allows(
    app: App, fakes: FakeProviders
) -> None:
    """A US-only deployment answering from "eu" for public data: allowed data, but the declared location
    that the verdict rested on was wrong, so the receipt must say so."""
    fakes.anthropic.inject("us-declared-model", Fault(inference_geo="eu"))
    fakes.anthropic.inject("us-declared-model", Fault(inference_geo="us"))

    async def go() -> None:
        request = route(model="us-declared", data_class="public")
        flagged, clean = await app.router.complete(request), await app.router.complete(request)
        assert (flagged.inference_geo, flagged.residency_mismatch) == ("eu", True)
        assert (clean.inference_geo, clean.residency_mismatch) == ("us", False)
        event = await find_receipt(app.audit, flagged.receipt_id)
        assert event is not None and event.details["residency_mismatch"] is True
        await app.aclose()

    asyncio.run(go())


def test_defaulted_classification_is_in_result_and_receipt(app: App) -> None:
    async def go() -> None:
        result = await app.router.complete(route())
        assert result.classification_defaulted and result.data_class == "public"
        event = await find_receipt(app.audit, result.receipt_id)
        assert event is not None and event.classification_defaulted is True
        await app.aclose()

    asyncio.run(go())


def test_deployment_at_its_capacity_is_skipped_until_the_minute_passes(app: App, clock: Clock) -> None:
    app.catalog = Catalog(
        d.model_copy(update={"limits": Limits(requests_per_minute=1)}) if d.id == "sa-cheap" else d
        for d in app.catalog
    )
    request = route(jurisdiction="SA", data_class="personal", strategy="cheapest")
    assert asyncio.run(complete(app, request)).deployment == "sa-cheap"
    plan = app.router.plan(request)
    assert ("sa-cheap", "capacity") in {(e.deployment, e.stage) for e in plan.exclusions}
    assert asyncio.run(complete(app, request)).deployment == "sa-mid"
    clock.now += 61
    assert asyncio.run(complete(app, request)).deployment == "sa-cheap"


def test_missing_api_key_fails_that_candidate_with_a_clear_reason(
    app: App, fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    request = route(jurisdiction="SA", data_class="personal", strategy="cheapest")
    result = asyncio.run(complete(app, request))
    assert result.deployment == "sa-mid"  # sa-cheap (Anthropic wire) has no key: next candidate
    (failed,) = [e for e in result.exclusions if e.stage == "failed"]
    assert failed.deployment == "sa-cheap" and "ANTHROPIC_API_KEY" in failed.reason
    assert app.router.health.state("sa-cheap") == "closed"  # a missing key is not the endpoint's fault
    assert "sa-cheap-model" not in seen_models(fakes)


def test_content_is_kept_only_when_the_owner_opts_in(app: App) -> None:
    async def go() -> tuple[object, object]:
        first = await app.router.complete(route("not kept"))
        app.settings.audit.store_content = True
        second = await app.router.complete(route("kept on request"))
        try:
            off, on = [await find_receipt(app.audit, r.receipt_id) for r in (first, second)]
            assert off is not None and on is not None
            return await app.audit.content(off.id), await app.audit.content(on.id)
        finally:
            await app.aclose()

    off, on = asyncio.run(go())
    assert off is None
    assert on is not None and "kept on request" in str(on)


def test_open_breaker_says_unavailable_not_disallowed(app: App, fakes: FakeProviders) -> None:
    while app.router.health.acquire("sa-cheap"):  # fail it until its breaker opens
        app.router.health.record_failure("sa-cheap")
    with pytest.raises(NoRoute) as raised:
        asyncio.run(complete(app, route(model="sa-cheap", jurisdiction="SA", data_class="personal")))
    message = str(raised.value)
    assert message.startswith("no deployment available for personal data for SA") and "circuit" in message
    assert seen_models(fakes) == []


def test_a_bad_provider_setting_is_a_config_error_not_every_candidate_failing(
    app: App, fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polyroute.errors import ConfigError

    monkeypatch.setenv("POLYROUTE_PROVIDER_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="POLYROUTE_PROVIDER_TIMEOUT"):
        asyncio.run(app.router.complete(route(jurisdiction="SA", data_class="personal")))
    assert seen_models(fakes) == []


def test_an_audit_store_that_cannot_open_stops_the_call_before_any_provider(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    from polyroute.errors import ConfigError

    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    app = make_app(fakes, tmp_path / "data", clock)
    app.settings.audit.url = "mysql://nowhere/audit"  # no receipt could be written
    with pytest.raises(ConfigError, match="audit store"):
        asyncio.run(app.router.complete(route(jurisdiction="SA", data_class="personal")))
    assert seen_models(fakes) == []


def test_a_canary_key_echoed_by_a_provider_reaches_no_error_result_or_receipt(
    app: App, fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    canary = "sk-ant-api03-CANARY0routed0receipt0key0ZQX9"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ANTHROPIC_API_KEY", canary)
    fakes.anthropic.inject("sa-cheap-model", Fault(status=401, message=f"invalid x-api-key: {canary}"))
    fakes.openai.inject("sa-mid-model", Fault(status=400, message=f"you sent {canary}?"))

    async def go() -> list[str]:
        request = route(jurisdiction="SA", data_class="personal", strategy="cheapest")
        result = await app.router.complete(request)
        events = [e.model_dump_json() async for e in _events(app)]
        await app.aclose()
        return [result.model_dump_json(), *events]

    shown = asyncio.run(go()) + [caplog.text]
    assert canary in str(fakes.anthropic.seen()[0].headers)  # it was really sent
    for text in shown:
        assert "CANARY0routed" not in text and "0key0ZQX9" not in text, text


def test_no_route_without_a_jurisdiction_says_so_in_words(app: App, fakes: FakeProviders) -> None:
    fakes.anthropic.inject("sa-cheap-model", Fault(status=401))
    with pytest.raises(NoRoute, match=r"^no deployment answered for public data \(no jurisdiction given\)"):
        asyncio.run(complete(app, route(model="sa-cheap")))


def test_a_call_the_caller_cancels_still_leaves_a_receipt_with_its_attempt(
    app: App, fakes: FakeProviders
) -> None:
    """The provider may have seen (and billed) the request: giving up must not erase it from the log,
    and the receipt shows the attempt that was under way."""
    for server in fakes.servers:
        server.inject("sa-cheap-model", Fault(delay=3.0))

    async def go() -> None:
        import anyio

        from polyroute.audit import EventQuery

        with anyio.move_on_after(0.5) as scope:
            await app.router.complete(route(jurisdiction="SA", data_class="personal", strategy="cheapest"))
        assert scope.cancelled_caught
        event, intent = await app.audit.query(EventQuery(limit=10))
        assert intent.event_type == "intent" and event.intent_id == intent.id
        assert event.event_type == "failure" and event.reasons == ["cancelled by the caller"]
        (attempt,) = event.details["attempts"]
        assert attempt["deployment"] == "sa-cheap" and attempt["ok"] is False
        assert "may have received the request" in attempt["error"]
        assert event.details["tried"] == ["sa-cheap"] and event.deployment == "sa-cheap"
        assert (await app.audit.verify()).ok
        await app.aclose()

    asyncio.run(go())
    assert seen_models(fakes) == ["sa-cheap-model"]


def test_an_audit_store_that_opens_but_cannot_be_written_stops_the_call_first(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    from polyroute.errors import PolyrouteError

    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = make_app(fakes, tmp_path / "data", clock)
    app.settings.audit.url = f"sqlite:///{blocker}/audit.db"  # a path no receipt can be written to
    with pytest.raises(PolyrouteError, match="cannot write receipts"):
        asyncio.run(app.router.complete(route(jurisdiction="SA", data_class="personal")))
    assert seen_models(fakes) == []
