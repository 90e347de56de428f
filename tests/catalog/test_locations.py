from polyroute import locations


def test_region_country_and_groups() -> None:
    assert locations.countries("aws:me-central-1") == {"AE"}
    assert locations.countries("azure:uaenorth") == {"AE"}
    assert locations.countries("gcp:me-central2") == {"SA"}
    assert locations.countries("GCC") == {"SA", "AE", "QA", "BH", "KW", "OM"}
    assert "NO" in locations.countries("EEA")  # type: ignore[operator]


def test_unknown_location_is_reported_not_guessed() -> None:
    found, unknown = locations.expand(["aws:mars-north-1", "DE"])
    assert found == {"DE"}
    assert unknown == ["aws:mars-north-1"]


def test_bedrock_eu_profile_reaches_london_and_zurich() -> None:
    regions = locations.bedrock_profile_regions("eu")
    assert regions is not None
    assert {locations.region_country("aws", r) for r in regions} >= {"GB", "CH", "DE"}
    assert locations.bedrock_profile_regions("global") is None
