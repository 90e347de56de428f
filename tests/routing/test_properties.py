"""Properties over the bundled catalog and default policy: a plan never lists a denied deployment."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from polyroute.app import App
from polyroute.residency import DATA_CLASSES
from polyroute.routing import MAX_CANDIDATES, RouteRequest
from polyroute.settings import Settings
from polyroute.types import CompletionRequest

APP = App(Settings(data_dir=Path("/nonexistent/never-written")), principal="local:props")
JURISDICTIONS = [*APP.policy.jurisdictions, "XX", "EEA", "UK", "ae-difc"]


@settings(max_examples=150, deadline=None)
@given(
    jurisdiction=st.one_of(st.none(), st.sampled_from(JURISDICTIONS)),
    data_class=st.one_of(st.none(), st.sampled_from([*DATA_CLASSES, "top_secretish"])),
    strategy=st.sampled_from(["cheapest", "fastest", "best", "balanced"]),
    require=st.lists(st.sampled_from(["vision", "json", "reasoning", "arabic", "long_context"]), max_size=2),
    max_tokens=st.integers(min_value=1, max_value=200_000),
)
def test_every_candidate_is_allowed_and_every_deployment_is_accounted_for(
    jurisdiction: str | None, data_class: str | None, strategy: str, require: list[str], max_tokens: int
) -> None:
    request = RouteRequest.model_validate({
        "request": CompletionRequest.from_prompt("Classify this ticket.", max_tokens=max_tokens),
        "jurisdiction": jurisdiction, "data_class": data_class, "strategy": strategy, "require": require,
        "principal": "local:props",
    })  # fmt: skip
    plan = APP.router.plan(request)
    for candidate in plan.candidates:
        deployment = APP.catalog.get(candidate.deployment)
        assert APP.router.judge(plan.jurisdiction, plan.data_class, deployment).allowed
        assert set(require) <= deployment.capabilities
        assert candidate.input_tokens + max_tokens <= deployment.context_window
    listed = [c.deployment for c in plan.candidates] + [e.deployment for e in plan.exclusions]
    assert len(listed) == len(set(listed))
    assert len(listed) + plan.more_candidates == len(APP.catalog)
    assert len(plan.candidates) <= MAX_CANDIDATES
    scores = [c.score for c in plan.candidates]
    assert scores == sorted(scores, reverse=True)
    if jurisdiction is None or data_class is None:
        assert plan.classification_defaulted
