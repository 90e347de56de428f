"""Issue 10: the Gulf verdicts re-checked against their sources, pinned one by one.

Each test names the regime and the corrected behaviour; data/policy.toml carries the sources and the
date they were checked, and polyroute/locations.py the adequacy lists.
"""

from __future__ import annotations

import pytest
from residency_helpers import MakeDeployment

from polyroute import locations
from polyroute.residency import Policy


def _allowed(policy: Policy, jurisdiction: str, data_class: str, *where: str, make: MakeDeployment) -> bool:
    deployment = make("d", processing=list(where), storage=list(where))
    return policy.check(jurisdiction, data_class, deployment, deployment_id="d").allowed


@pytest.mark.parametrize("zone", ["AE-DIFC", "AE-ADGM"])
def test_an_in_zone_host_is_allowed_without_widening_to_all_of_ae(
    zone: str, default_policy: Policy, make: MakeDeployment
) -> None:
    assert _allowed(default_policy, zone, "personal", zone, make=make)
    assert not _allowed(default_policy, zone, "personal", "AE", make=make)
    assert not _allowed(default_policy, zone, "personal", zone, "AE", make=make)  # one onshore leg fails


@pytest.mark.parametrize(
    ("zone", "adequate", "not_adequate"),
    [
        ("AE-DIFC", ["DE", "FR", "NO", "GB"], ["US", "AE", "SA", "IN"]),
        ("AE-ADGM", ["DE", "IE", "GB", "JP", "CH", "KR", "BR"], ["US", "AE", "SA", "SG"]),
    ],
)
def test_each_zone_follows_its_own_adequacy_list(
    zone: str, adequate: list[str], not_adequate: list[str], default_policy: Policy, make: MakeDeployment
) -> None:
    """EEA destinations the regime treats as adequate used to be denied; unverified ones stay denied."""
    for country in adequate:
        assert _allowed(default_policy, zone, "personal", country, make=make), country
    for country in not_adequate:
        assert not _allowed(default_policy, zone, "personal", country, make=make), country


def test_eea_cloud_regions_pass_the_difc_rule(default_policy: Policy, make: MakeDeployment) -> None:
    assert _allowed(default_policy, "AE-DIFC", "personal", "aws:eu-central-1", make=make)
    # bedrock:eu may run in eu-central-2 (Zurich); Switzerland is not on the verified part of the DIFC
    # list, so the profile is denied (unverified means denied) while the ADGM, which follows the EU's
    # list (Switzerland included), allows it.
    assert "CH" in (locations.countries("bedrock:eu") or set())
    assert not _allowed(default_policy, "AE-DIFC", "personal", "bedrock:eu", make=make)
    assert _allowed(default_policy, "AE-ADGM", "personal", "bedrock:eu", make=make)


def test_zone_health_data_stays_in_the_zone(default_policy: Policy, make: MakeDeployment) -> None:
    for zone in ("AE-DIFC", "AE-ADGM", "AE-DHCC"):
        assert _allowed(default_policy, zone, "health", zone, make=make)
        assert not _allowed(default_policy, zone, "health", "AE", make=make)
        assert not _allowed(default_policy, zone, "health", "DE", make=make)


@pytest.mark.parametrize("zone", ["AE-DIFC", "AE-ADGM", "AE-DHCC"])
def test_an_in_zone_host_is_inside_ae_for_ae_rules(
    zone: str, default_policy: Policy, make: MakeDeployment
) -> None:
    for data_class in ("personal", "health", "financial_regulated", "government_secret"):
        assert _allowed(default_policy, "AE", data_class, zone, make=make), data_class
        assert _allowed(default_policy, "SA", "public", zone, make=make)
    assert not _allowed(default_policy, "QA", "personal", zone, make=make)


def test_qfc_is_its_own_jurisdiction_and_location(default_policy: Policy, make: MakeDeployment) -> None:
    assert _allowed(default_policy, "QA-QFC", "personal", "QA-QFC", make=make)
    assert not _allowed(default_policy, "QA-QFC", "personal", "QA", make=make)  # adequacy unverified
    assert _allowed(default_policy, "QA", "personal", "QA-QFC", make=make)  # the QFC lies in Qatar
    assert _allowed(default_policy, "QA-QFC", "government_secret", "QA", make=make)


def test_uk_data_bridge_covers_the_difc_but_not_onshore_uae(
    default_policy: Policy, make: MakeDeployment
) -> None:
    assert _allowed(default_policy, "GB", "personal", "AE-DIFC", make=make)
    assert not _allowed(default_policy, "GB", "personal", "AE", make=make)
    assert not _allowed(default_policy, "GB", "personal", "AE-ADGM", make=make)


def test_saudi_critical_infrastructure_variant_keeps_everything_in_the_kingdom(
    default_policy: Policy, make: MakeDeployment
) -> None:
    for data_class in ("public", "internal", "personal", "government_secret"):
        assert _allowed(default_policy, "SA-CI", data_class, "SA", make=make), data_class
        assert not _allowed(default_policy, "SA-CI", data_class, "AE", make=make), data_class
    assert _allowed(default_policy, "SA", "public", "ANY", make=make)  # plain SA is unchanged
    rule = default_policy.rule_for("SA-CI", "public")
    assert rule is not None and any("ECC-2:2024" in c for c in rule.citations)
    assert "SA-CI" in (default_policy.rule_for("SA", "public").note or "")  # type: ignore[union-attr]


def test_citations_say_what_the_sources_say(default_policy: Policy) -> None:
    def cited(rule_id: str) -> str:
        jurisdiction, data_class = rule_id.split("/")
        rule = default_policy.rule_for(jurisdiction, data_class)
        assert rule is not None
        return " ".join(rule.citations) + " " + (rule.note or "")

    adgm = cited("AE-ADGM/personal")
    assert "s. 40 (general principle" in adgm and "s. 41 (transfers on the basis of an adequacy" in adgm
    assert "s. 42 (transfers subject to appropriate safeguards" in adgm
    qatar = cited("QA/personal")
    assert "NOT a legal requirement" in qatar and "Art. 15" in qatar
    saudi = cited("SA/personal")
    assert "1 Sep 2024" in saudi and "risk assessment Art. 7" in saudi
    health = default_policy.rule_for("AE", "health")
    assert health is not None and "ICT Health Law" in health.citations[0]
    assert not any("PDPL" in citation for citation in health.citations)  # a sectoral law, not the PDPL
    assert "CBUAE Outsourcing Regulation" in cited("AE/financial_regulated")
    assert "Circular No. 6/2024" in cited("OM/personal")
    for rule in default_policy.rules:
        if rule.jurisdiction in {"AE-DIFC", "AE-ADGM", "AE-DHCC", "QA-QFC", "SA-CI"}:
            assert rule.citations, rule.id


def test_zone_names_are_locations_and_unknown_zones_are_not() -> None:
    assert locations.countries("AE-DIFC") == {"AE-DIFC"}
    for name in ("AE-JAFZA", "ae-difc", "DIFC"):
        assert locations.countries(name) is None, name
    assert locations.outside({"AE-DIFC"}, frozenset({"AE"})) == frozenset()
    assert locations.outside({"AE"}, frozenset({"AE-DIFC"})) == {"AE"}
    assert locations.outside({"AE-ADGM"}, frozenset({"AE-DIFC"})) == {"AE-ADGM"}
