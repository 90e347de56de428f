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


def test_only_assigned_iso_codes_are_countries() -> None:
    assert locations.countries("SA") == {"SA"}
    for name in ("XX", "UK", "KSA", "sa", "EL"):
        assert locations.countries(name) is None, name
    assert len(locations.ISO_COUNTRIES) == 249


def test_every_cloud_region_and_group_maps_to_iso_countries() -> None:
    for table in locations.CLOUDS.values():
        assert set(table.values()) <= locations.ISO_COUNTRIES
    for group in locations.GROUPS.values():  # countries, and zones that lie in a country
        assert group <= locations.ISO_COUNTRIES | set(locations.ZONES)
    assert set(locations.ZONES.values()) <= locations.ISO_COUNTRIES
    assert len(locations.EU) == 27 and len(locations.EEA) == 30
    assert {"GB", "BR", "JP"} <= locations.GROUPS["EEA+ADEQUATE"]  # Brazil: Decision (EU) 2026/179
    assert "US" not in locations.GROUPS["EEA+ADEQUATE"]  # DPF covers certified firms only


def test_bedrock_profiles_as_locations() -> None:
    assert locations.countries("bedrock:global") == {locations.ANY}
    assert locations.countries("bedrock:us") == {"US"}
    assert locations.countries("bedrock:jp") == {"JP"}
    eu = locations.countries("bedrock:eu")
    assert eu is not None and {"GB", "CH"} <= eu and not eu <= locations.EU  # London/Zurich leave the EU
    assert locations.countries("bedrock:mars") is None
    for regions in locations.BEDROCK_PROFILES.values():
        assert regions is None or set(regions) <= set(locations.AWS_REGIONS)


def test_middle_east_regions() -> None:
    assert locations.region_country("aws", "me-south-1") == "BH"
    assert locations.region_country("azure", "qatarcentral") == "QA"
    assert locations.region_country("gcp", "me-central1") == "QA"
    assert locations.region_country("gcp", "me-west1") == "IL"


def test_summarize_labels_groups_and_truncates() -> None:
    assert locations.summarize(["ANY"]) == "ANY"
    assert locations.summarize(locations.EEA) == "EEA"
    assert locations.summarize(locations.EEA | {"GB", "CH"}) == "EEA+CH,GB"
    assert locations.summarize(locations.GCC) == "GCC"
    assert locations.summarize(["US", "DE"]) == "DE,US"
    assert locations.summarize(["AE", "AU", "ID", "IN", "JP", "KR"]) == "AE,AU,ID,IN,+2"
