"""Property tests for the subset semantics: allowed ⇔ every location is inside the rule's set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from residency_helpers import build_deployment

from polyroute.policy import read_rules
from polyroute.residency import Policy

COUNTRIES = ["SA", "AE", "QA", "BH", "KW", "OM", "DE", "FR", "GB", "US", "CH", "JP"]
country_sets = st.sets(st.sampled_from(COUNTRIES), min_size=1, max_size=6)
with_any = st.one_of(country_sets, country_sets.map(lambda s: s | {"ANY"}))


def _policy(allowed: set[str]) -> Policy:
    table = {"jurisdiction": "ZZ", "data_classes": ["personal"], "allowed": sorted(allowed)}
    return Policy(read_rules({"rules": [table]}, where="test", inherited={}, origin="user").values())


@settings(max_examples=300, deadline=None)
@given(allowed=st.sets(st.sampled_from(COUNTRIES), max_size=8), processing=with_any, storage=with_any)
def test_allowed_iff_every_location_is_inside(
    allowed: set[str], processing: set[str], storage: set[str]
) -> None:
    deployment = build_deployment("prop", processing=sorted(processing), storage=sorted(storage))
    verdict = _policy(allowed).check("ZZ", "personal", deployment, deployment_id="prop")
    everywhere = set(deployment.processing_locations) | set(deployment.storage_locations)
    expected = "ANY" not in everywhere and everywhere <= allowed
    assert verdict.allowed is expected
    assert verdict.reasons  # a verdict always says why
    if not expected:
        escaped = everywhere - allowed - {"ANY"}
        text = " ".join(verdict.reasons)
        assert all(country in text for country in escaped)


@settings(max_examples=200, deadline=None)
@given(processing=with_any, storage=with_any)
def test_any_rule_allows_everything_and_empty_rule_nothing(processing: set[str], storage: set[str]) -> None:
    deployment = build_deployment("prop", processing=sorted(processing), storage=sorted(storage))
    assert _policy({"ANY"}).check("ZZ", "personal", deployment, deployment_id="prop").allowed
    assert not _policy(set()).check("ZZ", "personal", deployment, deployment_id="prop").allowed


@settings(max_examples=200, deadline=None)
@given(allowed=country_sets, processing=country_sets)
def test_widening_the_allowed_set_never_turns_allow_into_deny(
    allowed: set[str], processing: set[str]
) -> None:
    deployment = build_deployment("prop", processing=sorted(processing))
    narrow = _policy(allowed).check("ZZ", "personal", deployment, deployment_id="prop").allowed
    wide = _policy(allowed | processing).check("ZZ", "personal", deployment, deployment_id="prop").allowed
    assert wide and (not narrow or wide)
