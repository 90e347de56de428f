"""A real App with real routed calls on the wire fakes, for the report and dashboard tests: completions in
Saudi Arabia and Germany, one the provider reports as run elsewhere (a residency mismatch), a refusal by
the budget, one by the residency policy, and an intent left without its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tests.routing.routing_fixtures import Clock, make_app

from polyroute.app import App
from polyroute.audit.event import EventDraft
from polyroute.errors import PolyrouteError
from polyroute.routing import RouteRequest
from polyroute.settings import Budget
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

PROMPT = "Summarise the attached memo in two sentences."
BUDGETS = [Budget(scope="principal:local:capped", period="day", limit_usd=Decimal("0.0000001"))]


@dataclass
class Logged:
    """An App whose log holds the calls below, and their receipt ids by outcome."""

    app: App
    receipts: dict[str, list[str]]


def report_app(fakes: FakeProviders, data_dir: Path) -> App:
    app = make_app(fakes, data_dir, Clock(), budgets=BUDGETS)
    app.settings.teams["ops"] = ["local:ops"]
    return app


def _request(principal: str, jurisdiction: str, data_class: str, model: str | None = None) -> RouteRequest:
    return RouteRequest(
        request=CompletionRequest.from_prompt(PROMPT, max_tokens=50),
        principal=principal,
        jurisdiction=jurisdiction,
        data_class=data_class,
        model=model,
    )


async def routed_calls(app: App, fakes: FakeProviders) -> dict[str, list[str]]:
    """Make the calls; the receipt ids by what happened."""
    made: dict[str, list[str]] = {"completed": [], "refused": []}
    calls = [
        _request("local:tester", "SA", "personal"),
        _request("local:tester", "SA", "personal"),
        _request("local:ops", "EU", "public", "de-cheapest"),
        _request("local:ops", "SA", "personal", "sa-cheap"),
        _request("local:capped", "SA", "personal"),
        _request("local:tester", "SA", "government_secret", "us-declared"),
    ]
    fakes.anthropic.inject("sa-cheap-model", Fault(inference_geo="us"))
    for request in calls:
        try:
            done = await app.router.complete(request)
            made["completed"].append(done.receipt_id)
        except PolyrouteError:
            pass
    refused = await app.audit.query(_refusals())
    made["refused"] = [event.id for event in refused]
    lost = EventDraft(
        event_type="intent",
        principal="local:tester",
        deployment="sa-mid",
        jurisdiction="SA",
        data_class="personal",
        details={"candidates": [{"deployment": "sa-mid"}]},
    )
    made["unknown"] = [(await app.audit.append(lost)).id]
    return made


def _refusals():  # noqa: ANN202 - the query type is the library's
    from polyroute.audit import EventQuery

    return EventQuery(event_type="refusal")
