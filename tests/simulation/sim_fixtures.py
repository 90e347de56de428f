"""A recorded log built through the real router: routed calls over several jurisdictions, data classes
and principals, real SDKs against the loopback fakes, receipts in a real SQLite store.

The catalog (explicit prices, `cheapest` strategy) and the policy are chosen so every call's route is
known: the bundled policy, widened by the user to let AE personal data go to the US (the docs example).

    call                      allowed                              chosen (cheapest)
    public, no jurisdiction   all                                  us-cheap
    AE internal               ANY                                  us-cheap
    AE personal               AE + US (user rule)                  us-cheap
    SA personal               SA                                   sa-local
    EU personal               EEA + adequacy                       eu-mid
    QA personal               QA — no deployment there             refused
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.routing.routing_fixtures import openai_like

from polyroute.app import App
from polyroute.catalog import load_catalog
from polyroute.errors import PolyrouteError
from polyroute.routing import RouteRequest
from polyroute.settings import Defaults, PolicySettings, Settings
from polyroute.testing import FakeProviders
from polyroute.types import CompletionRequest

USER_POLICY = """
[[rules]]
jurisdiction = "AE"
data_classes = ["personal"]
allowed = ["AE", "US"]
source = "test: transfers to the US under contract"
"""

TIGHTENED_POLICY = """
[[rules]]
jurisdiction = "AE"
data_classes = ["personal"]
allowed = ["AE"]
source = "proposal: no US processing for GCC personal data"

[[rules]]
jurisdiction = "EU"
data_classes = ["personal"]
allowed = ["FR"]
source = "proposal: French processing only"

[[rules]]
jurisdiction = "QA"
data_classes = ["personal"]
allowed = ["QA", "DE"]
source = "proposal: Qatari personal data may go to Germany"
"""

# (principal, jurisdiction, data class, how many calls)
MIX: list[tuple[str, str | None, str | None, int]] = [
    ("alice", None, None, 6),
    ("alice", "AE", "internal", 4),
    ("bob", "AE", "personal", 5),
    ("bob", "SA", "personal", 3),
    ("carol", "EU", "personal", 4),
    ("carol", "QA", "personal", 2),
]
CALLS = sum(n for *_, n in MIX)
TEAMS = {"gulf": ["bob"], "europe": ["carol"], "all": ["alice", "bob", "carol"]}


def entries(fakes: FakeProviders) -> list[dict[str, Any]]:
    us_cheap = openai_like(
        fakes, "us-cheap", "US", ("0.1", "0.4"), provider="anthropic", base_url=fakes.anthropic.url
    )
    return [
        us_cheap,
        openai_like(fakes, "sa-local", "SA", ("1", "4")),
        openai_like(fakes, "ae-local", "AE", ("2", "6")),
        openai_like(fakes, "eu-mid", "DE", ("0.5", "2")),
        openai_like(fakes, "anywhere", "ANY", ("0.2", "0.8")),
    ]


def make_app(fakes: FakeProviders, tmp: Path) -> App:
    policy = tmp / "policy.toml"
    policy.write_text(USER_POLICY)
    settings = Settings(
        data_dir=tmp / "data", teams=TEAMS, policy=PolicySettings(file=policy), deployments=entries(fakes),
        defaults=Defaults(strategy="cheapest"),
    )  # fmt: skip
    app = App(settings, principal="local:tester")
    app.catalog = load_catalog(settings.deployments, bundled=False)
    return app


def request(principal: str, jurisdiction: str | None, data_class: str | None, n: int) -> RouteRequest:
    prompt = f"Summarise case {n} for {principal}: " + "details " * (5 + 7 * n)
    return RouteRequest(
        request=CompletionRequest.from_prompt(prompt, max_tokens=200),
        jurisdiction=jurisdiction, data_class=data_class, principal=principal, tool="test",
    )  # fmt: skip


async def record_calls(app: App, mix: list[tuple[str, str | None, str | None, int]] = MIX) -> int:
    """Route every call of `mix` through the real router; returns how many were refused."""
    refused = 0
    for principal, jurisdiction, data_class, count in mix:
        for n in range(count):
            try:
                await app.router.complete(request(principal, jurisdiction, data_class, n))
            except PolyrouteError:
                refused += 1
    return refused
