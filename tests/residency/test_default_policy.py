"""The bundled default policy: coverage, citations, and the shape DESIGN.md §2 promises."""

from __future__ import annotations

import pytest

from polyroute import locations
from polyroute.residency import DATA_CLASSES, Policy

JURISDICTIONS = ("SA", "AE", "AE-DIFC", "AE-ADGM", "QA", "BH", "KW", "OM", "EU", "GB", "US")
TERRITORY = {"AE-DIFC": "AE", "AE-ADGM": "AE", "EU": "EEA+ADEQUATE", "GB": "GB+ADEQUATE"}
REGULATED = ("confidential", "personal", "sensitive_personal", "health", "financial_regulated")


def test_every_jurisdiction_and_class_has_a_cited_rule(default_policy: Policy) -> None:
    assert default_policy.jurisdictions == tuple(sorted(JURISDICTIONS))
    for jurisdiction in JURISDICTIONS:
        for data_class in DATA_CLASSES:
            rule = default_policy.rule_for(jurisdiction, data_class)
            assert rule is not None, f"{jurisdiction}/{data_class}"
            assert rule.id == f"{jurisdiction}/{data_class}"
            assert rule.citations and all(c.strip() for c in rule.citations)
            assert rule.origin == "default"
            assert rule.requirements.model_dump(exclude_defaults=True) == {}


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_location_shape_of_each_jurisdiction(jurisdiction: str, default_policy: Policy) -> None:
    for data_class in ("public", "internal"):
        assert default_policy.rule_for(jurisdiction, data_class).countries == ("ANY",)  # type: ignore[union-attr]
    territory = TERRITORY.get(jurisdiction, jurisdiction)
    for data_class in REGULATED:
        assert default_policy.rule_for(jurisdiction, data_class).allowed == (territory,)  # type: ignore[union-attr]
    country = "EU" if jurisdiction == "EU" else jurisdiction.split("-")[0]
    for data_class in ("government_restricted", "government_secret"):
        assert default_policy.rule_for(jurisdiction, data_class).allowed == (country,)  # type: ignore[union-attr]


def test_eu_territory_is_the_eea_plus_adequacy_and_leaves_out_the_us(default_policy: Policy) -> None:
    countries = set(default_policy.rule_for("EU", "personal").countries)  # type: ignore[union-attr]
    assert countries == set(locations.GROUPS["EEA+ADEQUATE"])
    assert {"NO", "CH", "GB", "JP"} <= countries
    assert "US" not in countries


def test_us_personal_rule_says_it_is_a_default_not_law(default_policy: Policy) -> None:
    rule = default_policy.rule_for("US", "personal")
    assert rule is not None and any("not law" in c for c in rule.citations)


def test_unverified_citations_are_marked(default_policy: Policy) -> None:
    marked = [r.id for r in default_policy.rules if r.note and "unverified" in r.note]
    assert "KW/personal" in marked and "OM/personal" in marked
