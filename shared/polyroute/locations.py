"""Where things are: cloud regions → ISO 3166 countries, Bedrock cross-region profiles → member
regions, and named country groups (EEA, GCC, adequacy lists).

A *location* is written as an ISO alpha-2 country (`SA`), an in-country zone (`AE-DIFC`: a deployment
physically inside a free zone), a cloud region (`aws:me-central-1`, `azure:uaenorth`, `gcp:me-central2`),
an Azure Data Zone (`azure:datazone-eu`), a Bedrock cross-region profile (`bedrock:eu`, all its member
regions; `bedrock:global` is ANY), a group (`EEA`, `GCC`), or `ANY` (no geographic guarantee).
`countries()` expands any of these to a set of countries (and zones); an unknown name expands to nothing
and is reported by `expand()`, so callers can fail closed.

Zones are subsets: a zone is inside its country (`AE-DIFC` passes a rule allowing `AE`), a country is
never inside a zone (a deployment "somewhere in AE" fails a rule allowing only `AE-DIFC`, since it may
run onshore). `outside()` applies exactly that. Facts as of 2026-11-25, re-checked 2026-12-04; sources
per table.
"""

from __future__ import annotations

from collections.abc import Iterable

ANY = "ANY"

# AWS Regions and their countries [docs.aws.amazon.com/global-infrastructure/latest/regions, 2026-11-25]
AWS_REGIONS: dict[str, str] = {
    "us-east-1": "US", "us-east-2": "US", "us-west-1": "US", "us-west-2": "US",
    "us-gov-east-1": "US", "us-gov-west-1": "US", "ca-central-1": "CA", "ca-west-1": "CA",
    "mx-central-1": "MX", "sa-east-1": "BR",
    "eu-central-1": "DE", "eu-central-2": "CH", "eu-west-1": "IE", "eu-west-2": "GB", "eu-west-3": "FR",
    "eu-north-1": "SE", "eu-south-1": "IT", "eu-south-2": "ES",
    "me-central-1": "AE", "me-south-1": "BH", "il-central-1": "IL", "af-south-1": "ZA",
    # AWS European Sovereign Cloud, Brandenburg (separate `aws-eusc` partition, amazonaws.eu)
    # [AWS SDK partition data, endpoint rules `implicitGlobalRegion: eusc-de-east-1`, checked 2026-12-04]
    "eusc-de-east-1": "DE",
    "ap-east-1": "HK", "ap-east-2": "TW", "ap-south-1": "IN", "ap-south-2": "IN",
    "ap-northeast-1": "JP", "ap-northeast-2": "KR", "ap-northeast-3": "JP",
    "ap-southeast-1": "SG", "ap-southeast-2": "AU", "ap-southeast-3": "ID", "ap-southeast-4": "AU",
    "ap-southeast-5": "MY", "ap-southeast-6": "NZ", "ap-southeast-7": "TH",
}  # fmt: skip

# Azure regions [learn.microsoft.com/azure/reliability/regions-list, 2026-11-25]
AZURE_REGIONS: dict[str, str] = {
    "uaenorth": "AE", "uaecentral": "AE", "qatarcentral": "QA", "israelcentral": "IL",
    "westeurope": "NL", "northeurope": "IE", "francecentral": "FR", "germanywestcentral": "DE",
    "swedencentral": "SE", "switzerlandnorth": "CH", "norwayeast": "NO", "polandcentral": "PL",
    "italynorth": "IT", "spaincentral": "ES", "uksouth": "GB", "ukwest": "GB",
    "eastus": "US", "eastus2": "US", "westus": "US", "westus2": "US", "westus3": "US",
    "centralus": "US", "northcentralus": "US", "southcentralus": "US",
    "canadacentral": "CA", "canadaeast": "CA", "brazilsouth": "BR", "southafricanorth": "ZA",
    "japaneast": "JP", "koreacentral": "KR", "centralindia": "IN", "southindia": "IN",
    "australiaeast": "AU", "southeastasia": "SG", "eastasia": "HK",
    "switzerlandwest": "CH", "germanynorth": "DE", "norwaywest": "NO", "francesouth": "FR",
    "westcentralus": "US", "mexicocentral": "MX", "southafricawest": "ZA", "westindia": "IN",
    "japanwest": "JP", "koreasouth": "KR", "australiasoutheast": "AU", "australiacentral": "AU",
    "newzealandnorth": "NZ",
    # Saudi Arabia East (Riyadh region) [az account list-locations display names, checked 2026-12-04]
    "saudiarabiaeast": "SA",
}  # fmt: skip


# Google Cloud regions [cloud.google.com/about/locations, 2026-11-25]
GCP_REGIONS: dict[str, str] = {
    "me-central1": "QA", "me-central2": "SA", "me-west1": "IL",
    "europe-west1": "BE", "europe-west2": "GB", "europe-west3": "DE", "europe-west4": "NL",
    "europe-west6": "CH", "europe-west8": "IT", "europe-west9": "FR", "europe-west10": "DE",
    "europe-west12": "IT", "europe-north1": "FI", "europe-central2": "PL", "europe-southwest1": "ES",
    "us-central1": "US", "us-east1": "US", "us-east4": "US", "us-east5": "US", "us-south1": "US",
    "us-west1": "US", "us-west4": "US", "northamerica-northeast1": "CA", "southamerica-east1": "BR",
    "asia-northeast1": "JP", "asia-south1": "IN", "asia-southeast1": "SG", "australia-southeast1": "AU",
    "europe-north2": "SE", "us-west2": "US", "us-west3": "US", "northamerica-northeast2": "CA",
    "northamerica-south1": "MX", "southamerica-west1": "CL", "asia-east1": "TW", "asia-east2": "HK",
    "asia-northeast2": "JP", "asia-northeast3": "KR", "asia-south2": "IN", "asia-southeast2": "ID",
    "australia-southeast2": "AU", "africa-south1": "ZA",
}  # fmt: skip

CLOUDS: dict[str, dict[str, str]] = {"aws": AWS_REGIONS, "azure": AZURE_REGIONS, "gcp": GCP_REGIONS}

# Bedrock cross-region inference profiles: the prefix of the profile id → regions it may route to
# [docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html, 2026-11-25].
# `global.` routes to any commercial region: no geographic guarantee.
BEDROCK_PROFILES: dict[str, tuple[str, ...] | None] = {
    "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    "us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "eu": ("eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
           "eu-south-1", "eu-south-2"),
    # apac.: re-checked 2026-12-04 against the AWS CDK `CrossRegionInferenceProfileRegion.APAC` list
    # (docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.aws_bedrock_alpha/
    #  CrossRegionInferenceProfileRegion.html):
    # adds Malaysia (ap-southeast-5) and Thailand (ap-southeast-7), missing before.
    "apac": ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
             "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
             "ap-southeast-7", "ap-east-2", "me-central-1"),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "global": None,
}  # fmt: skip

EU = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())  # noqa: SIM905
# EEA = EU + Iceland, Liechtenstein, Norway [EEA Agreement, Art. 126]
EEA = EU | {"IS", "LI", "NO"}
# Gulf Cooperation Council members [GCC Charter, 1981]
GCC = frozenset({"SA", "AE", "QA", "BH", "KW", "OM"})
# Azure OpenAI Data Zone deployments: processed within the zone's member countries
# [learn.microsoft.com/azure/foundry/foundry-models/concepts/deployment-types, checked 2026-12-04].
# EU: EU member states; US: the United States. APAC: Microsoft does not list the member countries on
# the pages available here (unverified), so the zone stands for every country with an Azure
# Asia-Pacific region: over-stating a footprint can only deny, under-stating could wrongly allow.
AZURE_DATA_ZONES: dict[str, frozenset[str]] = {
    "eu": EU,
    "us": frozenset({"US"}),
    "apac": frozenset({"AU", "NZ", "JP", "KR", "IN", "SG", "HK", "ID", "MY", "TW"}),
}
# EU adequacy decisions under GDPR Art. 45 [commission.europa.eu, "Adequacy decisions", 2026-11-25].
# The EU-US Data Privacy Framework covers only certified organisations, which this tool cannot see:
# the US is left out on purpose (strict by default); a user policy can add it.
# Brazil: Commission Implementing Decision (EU) 2026/179 of 26 January 2026 (OJ 28.1.2026).
EU_ADEQUATE = frozenset(
    {"AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"}
)
# UK adequacy regulations ("data bridges") under UK GDPR Art. 45 [ico.org.uk / gov.uk, 2026-11-25]:
# the EEA, the EU's pre-2021 list, Korea (2022), the DIFC (2023: the zone AE-DIFC, not the rest of
# the UAE) and Gibraltar. US: see above.
UK_ADEQUATE = frozenset(
    {"AD", "AR", "CA", "CH", "FO", "GG", "GI", "IL", "IM", "JE", "JP", "KR", "NZ", "UY", "AE-DIFC"}
)

# In-country zones with their own data-protection regime, and the country each lies in. Written
# `<ISO country>-<zone>`; a zone is a location only where a deployment is physically inside it.
ZONES: dict[str, str] = {
    "AE-DIFC": "AE",  # Dubai International Financial Centre (DIFC Law No. 5 of 2020)
    "AE-ADGM": "AE",  # Abu Dhabi Global Market (ADGM Data Protection Regulations 2021)
    "AE-DHCC": "AE",  # Dubai Healthcare City (DHCC Health Data Protection Regulation No. 7 of 2013)
    "QA-QFC": "QA",  # Qatar Financial Centre (QFC Data Protection Regulations)
}

# DIFC adequacy (DP Law 2020, Art. 26): the Commissioner keeps a list of adequate jurisdictions on
# difc.ae ("Data Export & Sharing"), not readable here. Verified: EU/EEA and UK adequacy are recognised
# [pctspec.opsf.org x-difc-dp extension, review 2026-03-20; difc.ae data-export page; checked
# 2026-12-04]. Anything else on the Commissioner's list (e.g. the ADGM, California's CCPA sector
# decision of 9 Aug 2023) is unverified or sub-national here, so it is left out: denied until a
# user policy adds it. Onshore UAE is a third country for the DIFC and is not on this list.
DIFC_ADEQUATE = EEA | {"GB"}
# ADGM adequacy (DPR 2021, s. 41): the Commissioner designated every jurisdiction the European
# Commission recognises as adequate [abspartners.ae, "Cross-Border Data Transfers from ADGM",
# 20 Feb 2026; checked 2026-12-04]: the EEA plus the EU adequacy list above (US left out: DPF is
# per certified recipient). Onshore UAE is not on the EU's list, so it is not adequate for ADGM.
ADGM_ADEQUATE = EEA | EU_ADEQUATE

GROUPS: dict[str, frozenset[str]] = {
    "EU": EU,
    "EEA": EEA,
    "GCC": GCC,
    "EEA+ADEQUATE": EEA | EU_ADEQUATE,
    "GB+ADEQUATE": frozenset({"GB"}) | EEA | UK_ADEQUATE,
    "DIFC+ADEQUATE": frozenset({"AE-DIFC"}) | DIFC_ADEQUATE,
    "ADGM+ADEQUATE": frozenset({"AE-ADGM"}) | ADGM_ADEQUATE,
}

# ISO 3166-1 alpha-2: every officially assigned code [iso.org/obp, ISO 3166 Maintenance Agency, 2026-11-25].
# A two-letter name outside this set (e.g. "XX", "UK", "EL") is unknown, never guessed.
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
    BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL
    IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC
    MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA
    PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
    ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF
    WS YE YT ZA ZM ZW""".split()  # noqa: SIM905
)
KNOWN_COUNTRIES = ISO_COUNTRIES  # kept for callers of the earlier name


def is_country(name: str) -> bool:
    """An assigned ISO 3166-1 alpha-2 code, upper case (so `sa` and `KSA` are not countries)."""
    return name in ISO_COUNTRIES


def countries(location: str) -> frozenset[str] | None:
    """The countries a location stands for: {ANY} for ANY, None when the name is unknown."""
    if location == ANY:
        return frozenset({ANY})
    if is_country(location) or location in ZONES:
        return frozenset({location})
    if location in GROUPS:
        return GROUPS[location]
    cloud, _, region = location.partition(":")
    if cloud == "bedrock":
        return _profile_countries(region)
    if cloud == "azure" and region.startswith("datazone-"):
        return AZURE_DATA_ZONES.get(region.removeprefix("datazone-"))
    table = CLOUDS.get(cloud)
    if table is not None and region in table:
        return frozenset({table[region]})
    return None


def _profile_countries(prefix: str) -> frozenset[str] | None:
    if prefix not in BEDROCK_PROFILES:
        return None
    regions = BEDROCK_PROFILES[prefix]
    if regions is None:
        return frozenset({ANY})
    return frozenset(AWS_REGIONS[region] for region in regions)


def expand(locations: Iterable[str]) -> tuple[frozenset[str], list[str]]:
    """Expand many locations: (the countries, the names that were unknown)."""
    found: set[str] = set()
    unknown: list[str] = []
    for location in locations:
        resolved = countries(location)
        if resolved is None:
            unknown.append(location)
        else:
            found |= resolved
    return frozenset(found), unknown


def outside(found: Iterable[str], allowed: frozenset[str]) -> frozenset[str]:
    """The locations of `found` not covered by `allowed`: a zone is covered by itself or its country,
    a country only by itself (never by one of its zones), ANY by nothing but ANY."""
    return frozenset(
        code for code in found if code not in allowed and not (code in ZONES and ZONES[code] in allowed)
    )


def summarize(codes: Iterable[str], *, limit: int = 4) -> str:
    """A short human label for a set of countries: a group name where one fits (`EEA+CH,GB`), else codes."""
    found = frozenset(codes)
    if ANY in found:
        return ANY
    label, rest = "", found
    for name in ("EEA", "EU", "GCC"):
        if GROUPS[name] <= found:
            label, rest = name, found - GROUPS[name]
            break
    ordered = sorted(rest)
    shown = ",".join(ordered[:limit]) + (f",+{len(ordered) - limit}" if len(ordered) > limit else "")
    return f"{label}+{shown}" if label and shown else label or shown


def bedrock_profile_regions(prefix: str) -> tuple[str, ...] | None:
    """Member regions of a Bedrock cross-region profile; None for `global` (anywhere).

    Raises KeyError for a prefix that is not a known profile group.
    """
    return BEDROCK_PROFILES[prefix]


def region_country(cloud: str, region: str) -> str | None:
    return CLOUDS.get(cloud, {}).get(region)
