"""Verdicts of the default policy: subset semantics, ANY, storage, unknowns, aliases."""

from __future__ import annotations

import pytest
from residency_helpers import MakeDeployment

from polyroute import locations
from polyroute.catalog import Deployment
from polyroute.residency import DATA_CLASSES, Policy

EU_PROFILE = [f"aws:{region}" for region in locations.BEDROCK_PROFILES["eu"] or ()]


def test_in_country_deployment_is_allowed_for_government_secret(
    default_policy: Policy, make: MakeDeployment
) -> None:
    riyadh = make("riyadh-sovereign", processing=["SA"])
    verdict = default_policy.check("SA", "government_secret", riyadh, deployment_id=riyadh.id)
    assert verdict.allowed
    assert verdict.rule == "SA/government_secret"
    assert verdict.processing_locations == ["SA"]
    assert verdict.citations and any("NCA" in c for c in verdict.citations)
    assert verdict.policy_version == default_policy.version
    assert "within the allowed locations for SA government_secret data" in verdict.reasons[0]


def test_profile_with_one_member_outside_is_denied_naming_it(
    default_policy: Policy, make: MakeDeployment
) -> None:
    profile = make("bedrock-eu-profile", processing=EU_PROFILE, storage=["DE"])
    verdict = default_policy.check("EU", "government_restricted", profile, deployment_id=profile.id)
    assert not verdict.allowed
    assert verdict.reasons == [
        "bedrock-eu-profile: may process in CH, GB, which are outside the allowed locations for "
        "EU government_restricted data (EU)"
    ]
    # The same profile is fine for EU personal data: Switzerland and the UK have adequacy decisions.
    assert default_policy.check("EU", "personal", profile, deployment_id=profile.id).allowed


def test_uae_region_plus_one_outside_region_is_denied(default_policy: Policy, make: MakeDeployment) -> None:
    mixed = make("mixed", processing=["aws:me-central-1", "aws:eu-central-1"])
    verdict = default_policy.check("AE", "personal", mixed, deployment_id="mixed")
    assert not verdict.allowed
    assert any("may process in DE, which is outside" in reason for reason in verdict.reasons)


def test_storage_outside_is_denied_even_when_processing_is_inside(
    default_policy: Policy, make: MakeDeployment
) -> None:
    split = make("split", processing=["SA"], storage=["US"])
    verdict = default_policy.check("SA", "personal", split, deployment_id="split")
    assert not verdict.allowed
    assert verdict.reasons == [
        "split: may store data in US, which is outside the allowed locations for SA personal data (SA)"
    ]
    assert verdict.storage_locations == ["US"]


def test_any_is_never_inside_a_finite_set(default_policy: Policy, make: MakeDeployment) -> None:
    global_endpoint = make("global", processing=["ANY"], storage=["US"])
    verdict = default_policy.check("US", "personal", global_endpoint, deployment_id="global")
    assert not verdict.allowed
    assert "may process anywhere (no geographic guarantee)" in verdict.reasons[0]


@pytest.mark.parametrize(
    "jurisdiction", ["SA", "AE", "AE-DIFC", "AE-ADGM", "QA", "BH", "KW", "OM", "EU", "GB", "US"]
)
def test_public_data_may_go_anywhere(jurisdiction: str, default_policy: Policy, make: MakeDeployment) -> None:
    anywhere = make("anywhere", processing=["ANY"])
    verdict = default_policy.check(jurisdiction, "public", anywhere, deployment_id="anywhere")
    assert verdict.allowed, verdict.reasons
    assert verdict.reasons == [f"anywhere: {jurisdiction} public data may be processed anywhere"]


def test_onshore_uae_is_a_third_country_for_difc_and_adgm(
    default_policy: Policy, make: MakeDeployment
) -> None:
    """Issue 10: both rules used to allow AE; onshore UAE is on neither regime's adequacy list."""
    abu_dhabi = make("uae", processing=["azure:uaenorth"])
    doha = make("doha", processing=["gcp:me-central1"])
    for zone, article in (("AE-DIFC", "Art. 26"), ("AE-ADGM", "s. 41")):
        denied = default_policy.check(zone, "personal", abu_dhabi, deployment_id="uae")
        assert not denied.allowed and any(article in c for c in denied.citations)
        assert "AE" in " ".join(denied.reasons)
        assert not default_policy.check(zone, "personal", doha, deployment_id="doha").allowed


def test_unknown_everything_is_one_denial_naming_each(default_policy: Policy) -> None:
    verdict = default_policy.check("ZZ", "secretish", None, deployment_id="no-such-model")
    assert not verdict.allowed
    assert verdict.rule is None
    assert len(verdict.reasons) == 3
    assert "unknown jurisdiction 'ZZ'" in verdict.reasons[0]
    assert "unknown data class 'secretish'" in verdict.reasons[1]
    assert "unknown deployment 'no-such-model'" in verdict.reasons[2]


def test_unknown_deployment_alone_is_denied_with_the_rule_named(default_policy: Policy) -> None:
    verdict = default_policy.check("SA", "public", None, deployment_id="ghost")
    assert not verdict.allowed
    assert verdict.rule == "SA/public"
    assert verdict.reasons == [
        "unknown deployment 'ghost': not in the catalog, so where it processes data is unknown"
    ]


def test_unknown_location_is_denied_not_guessed(default_policy: Policy, make: MakeDeployment) -> None:
    valid = make("odd", processing=["SA"])
    # A deployment built without validation (as a plugin might) with a region nobody knows.
    odd = Deployment.model_construct(**{**valid.__dict__, "processing_locations": ("aws:mars-north-1",)})
    verdict = default_policy.check("SA", "personal", odd, deployment_id="odd")
    assert not verdict.allowed
    assert "may process in aws:mars-north-1, which is unknown" in verdict.reasons[0]


def test_empty_location_list_is_denied(default_policy: Policy, make: MakeDeployment) -> None:
    valid = make("nowhere", processing=["SA"])
    empty = Deployment.model_construct(**{**valid.__dict__, "storage_locations": ()})
    assert not default_policy.check("SA", "personal", empty, deployment_id="nowhere").allowed


@pytest.mark.parametrize(
    ("given", "canonical"), [("eea", "EU"), ("EEA", "EU"), ("uk", "GB"), ("ae-difc", "AE-DIFC")]
)
def test_jurisdiction_aliases(
    given: str, canonical: str, default_policy: Policy, make: MakeDeployment
) -> None:
    frankfurt = make("fra", processing=["aws:eu-central-1"])
    verdict = default_policy.check(given, "personal", frankfurt, deployment_id="fra")
    assert verdict.jurisdiction == canonical
    assert verdict.rule == f"{canonical}/personal"


def test_check_all_gives_one_verdict_per_deployment(default_policy: Policy, make: MakeDeployment) -> None:
    fleet = [make("sa", processing=["SA"]), make("us", processing=["US"]), make("any", processing=["ANY"])]
    verdicts = default_policy.check_all("SA", "personal", fleet)
    assert [(v.deployment, v.allowed) for v in verdicts] == [("sa", True), ("us", False), ("any", False)]
    assert {v.data_class for v in verdicts} == {"personal"}
    assert len(DATA_CLASSES) == 9
