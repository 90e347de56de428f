"""The bundled default policy: coverage, citations, and the shape DESIGN.md §2 promises."""

from __future__ import annotations

import pytest

from polyroute import locations
from polyroute.residency import DATA_CLASSES, Policy

JURISDICTIONS = (
    "SA", "SA-CI", "AE", "AE-DIFC", "AE-ADGM", "AE-DHCC", "QA", "QA-QFC", "BH", "KW", "OM", "EU", "GB", "US",
)  # fmt: skip
# Where regulated classes may go, per jurisdiction; a zone's health data stays in the zone (see
# data/policy.toml), and DHCC's financial data follows the UAE-wide CBUAE rule.
TERRITORY = {
    "AE-DIFC": "DIFC+ADEQUATE", "AE-ADGM": "ADGM+ADEQUATE", "AE-DHCC": "AE-DHCC",
    "QA-QFC": "QA-QFC", "EU": "EEA+ADEQUATE", "GB": "GB+ADEQUATE", "SA-CI": "SA",
}  # fmt: skip
EXCEPTIONS = {
    ("AE-DIFC", "health"): "AE-DIFC",
    ("AE-ADGM", "health"): "AE-ADGM",
    ("AE-DHCC", "financial_regulated"): "AE",
}
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
    open_classes = ("SA",) if jurisdiction == "SA-CI" else ("ANY",)  # ECC-2:2024: even public data
    for data_class in ("public", "internal"):
        assert default_policy.rule_for(jurisdiction, data_class).countries == open_classes  # type: ignore[union-attr]
    for data_class in REGULATED:
        territory = EXCEPTIONS.get((jurisdiction, data_class), TERRITORY.get(jurisdiction, jurisdiction))
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
