"""User policy files on disk: extend, replace, inherit, errors, requirements, the docs example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from residency_helpers import MakeDeployment, policy_with

from polyroute.errors import ConfigError, PolyrouteError
from polyroute.residency import Policy, load_policy
from polyroute.settings import load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def rule(jurisdiction: str = "SA", classes: str = '"*"', allowed: str | None = '["SA"]', **extra: str) -> str:
    """One [[rules]] table as TOML text; values are TOML literals."""
    fields = {"jurisdiction": f'"{jurisdiction}"', "data_classes": classes, "allowed": allowed, **extra}
    return "[[rules]]\n" + "".join(f"{key} = {value}\n" for key, value in fields.items() if value is not None)


def test_extend_replaces_only_the_pairs_it_names(
    tmp_path: Path, make: MakeDeployment, default_policy: Policy
) -> None:
    policy = policy_with(
        tmp_path,
        rule(classes='["personal"]', allowed='["GCC"]', source='"our DPO"'),
    )
    bahrain = make("bahrain", processing=["aws:me-south-1"])
    widened = policy.check("SA", "personal", bahrain, deployment_id="bahrain")
    assert widened.allowed and widened.citations == ["our DPO"]
    assert not policy.check("SA", "health", bahrain, deployment_id="bahrain").allowed  # untouched default
    assert policy.rule_for("SA", "personal").origin == "user"  # type: ignore[union-attr]
    assert policy.version != default_policy.version
    assert len(policy.rules) == len(default_policy.rules)


def test_extend_adds_a_new_jurisdiction_and_denies_its_uncovered_classes(
    tmp_path: Path, make: MakeDeployment
) -> None:
    policy = policy_with(
        tmp_path, '[[rules]]\njurisdiction = "de"\ndata_classes = ["government_secret"]\nallowed = ["DE"]\n'
    )
    berlin = make("berlin", processing=["DE"])
    assert policy.check("DE", "government_secret", berlin, deployment_id="berlin").allowed
    uncovered = policy.check("DE", "personal", berlin, deployment_id="berlin")
    assert not uncovered.allowed
    assert uncovered.reasons == ["the policy has no rule for DE personal data, so it is denied everywhere"]


def test_replace_drops_the_defaults(tmp_path: Path, make: MakeDeployment) -> None:
    text = '[[rules]]\njurisdiction = "SA"\ndata_classes = "*"\nallowed = ["SA"]\n'
    policy = policy_with(tmp_path, text, mode="replace")
    assert policy.jurisdictions == ("SA",)
    anywhere = make("anywhere", processing=["ANY"])
    assert not policy.check("SA", "public", anywhere, deployment_id="anywhere").allowed  # now strict
    verdict = policy.check("EU", "public", anywhere, deployment_id="anywhere")
    assert not verdict.allowed and verdict.reasons[0].startswith("unknown jurisdiction 'EU'")


def test_specific_rule_beats_wildcard_in_the_same_file(tmp_path: Path, make: MakeDeployment) -> None:
    text = (
        '[[rules]]\njurisdiction = "QA"\ndata_classes = ["public"]\nallowed = ["ANY"]\n'
        '[[rules]]\njurisdiction = "QA"\ndata_classes = "*"\nallowed = ["QA"]\n'
    )
    policy = policy_with(tmp_path, text, mode="replace")
    anywhere = make("anywhere", processing=["ANY"])
    assert policy.check("QA", "public", anywhere, deployment_id="anywhere").allowed
    assert not policy.check("QA", "internal", anywhere, deployment_id="anywhere").allowed


def test_rule_without_allowed_inherits_locations_and_adds_requirements(
    tmp_path: Path, make: MakeDeployment
) -> None:
    text = '[[rules]]\njurisdiction = "SA"\ndata_classes = "*"\nrequirements = { trains_on_inputs = false }\n'
    policy = policy_with(tmp_path, text)
    rule = policy.rule_for("SA", "personal")
    assert rule is not None and rule.allowed == ("SA",) and rule.requirements.trains_on_inputs is False
    assert any("PDPL" in c for c in rule.citations)
    unknown = make("riyadh", processing=["SA"])
    verdict = policy.check("SA", "personal", unknown, deployment_id="riyadh")
    assert not verdict.allowed
    assert verdict.reasons == [
        "riyadh: whether it trains on inputs is unknown; this rule requires that it does not"
    ]
    clean = make("riyadh-clean", processing=["SA"], trains_on_inputs=False)
    allowed = policy.check("SA", "personal", clean, deployment_id="riyadh-clean")
    assert allowed.allowed and allowed.reasons[0].endswith("and does not train on inputs")


@pytest.mark.parametrize(
    ("requirements", "extra", "expected"),
    [
        ("trains_on_inputs = false", {"trains_on_inputs": True}, "trains on inputs, which this rule forbids"),
        ("retention_days_max = 0", {}, "its data retention is unknown, and this rule allows at most 0 days"),
        (
            "retention_days_max = 0",
            {"retention_days": 30},
            "retains data for 30 days; this rule allows at most 0",
        ),
        (
            'providers_allow = ["bedrock"]',
            {},
            "provider openai_compatible is not among the allowed providers",
        ),
        ('providers_deny = ["openai_compatible"]', {}, "provider openai_compatible is denied by this rule"),
    ],
)
def test_requirements_fail_closed(
    requirements: str, extra: dict[str, object], expected: str, tmp_path: Path, make: MakeDeployment
) -> None:
    text = rule(classes='["personal"]', requirements=f"{{ {requirements} }}")
    policy = policy_with(tmp_path, text, mode="replace")
    deployment = make("dep", processing=["SA"], **extra)
    verdict = policy.check("SA", "personal", deployment, deployment_id="dep")
    assert not verdict.allowed
    assert any(expected in reason for reason in verdict.reasons), verdict.reasons


def test_requirements_met_allow(tmp_path: Path, make: MakeDeployment) -> None:
    requirements = (
        '{ trains_on_inputs = false, retention_days_max = 0, providers_allow = ["openai_compatible"], '
        'providers_deny = ["openai"] }'
    )
    text = rule(classes='["personal"]', requirements=requirements)
    policy = policy_with(tmp_path, text, mode="replace")
    zdr = make("zdr", processing=["SA"], trains_on_inputs=False, retention_days=0)
    assert policy.check("SA", "personal", zdr, deployment_id="zdr").allowed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[rules]\n", "is not valid TOML"),
        ('[[rule]]\njurisdiction = "SA"\n', "unknown top-level key(s) rule"),
        ('rules = "SA"\n', "`rules` must be an array of tables"),
        (rule(classes='["secret"]'), "rule #1: data_classes"),
        (rule(classes="[]"), "rule #1: data_classes: List should have at least 1 item"),
        (rule(allowed='["Mars"]'), "unknown location(s) Mars"),
        (rule(colour="1"), "rule #1: colour"),
        (rule("Saudi"), "rule #1: jurisdiction"),
        (rule(requirements="{ trains_on_inputs = true }"), "requirements.trains_on_inputs"),
        (rule(requirements='{ providers_allow = ["acme"] }'), "requirements.providers_allow"),
        (
            rule(classes='["health"]') + rule("sa", '["health"]', '["AE"]'),
            "rule #2: a second rule for SA/health",
        ),
        (rule("XX", '["health"]', None), "no XX/health rule to inherit"),
    ],
)
def test_malformed_policy_file_is_one_line_naming_file_and_problem(
    text: str, problem: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_with(tmp_path, text)
    message = str(caught.value)
    assert problem in message
    assert str(tmp_path / "policy.toml") in message
    assert "\n" not in message


def test_misspelt_data_class_names_the_field_plainly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_with(tmp_path, rule(classes='["personel"]'))
    assert ": rule #1: data_classes.0: Input should be 'public'" in str(caught.value)
    assert "literal[" not in str(caught.value)


def test_policy_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b'\xff\xfe[[rules]]\njurisdiction = "SA"\n')
    settings = load_settings({"POLYROUTE_DATA_DIR": str(tmp_path), "POLYROUTE_POLICY": str(path)})
    with pytest.raises(ConfigError) as caught:
        load_policy(settings)
    assert str(caught.value) == f"policy file {path} is not UTF-8 text (byte 0): TOML must be UTF-8"


def test_a_misspelt_default_data_class_stops_at_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\njurisdiction = "SA"\ndata_class = "personel"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings({"POLYROUTE_CONFIG": str(config), "POLYROUTE_DATA_DIR": str(tmp_path)})
    assert str(caught.value).startswith(
        f"config file {config}: defaults.data_class: unknown data class 'personel'; expected one of public,"
    )


def test_a_relative_policy_path_in_the_config_is_read_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "policy.toml").write_text(rule("DE", '["personal"]', '["DE"]'), encoding="utf-8")
    config = tmp_path / "etc" / "config.toml"
    config.write_text('[policy]\nfile = "policy.toml"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a client may start the server anywhere
    settings = load_settings({"POLYROUTE_CONFIG": str(config), "POLYROUTE_DATA_DIR": str(tmp_path)})
    assert settings.policy.file == tmp_path / "etc" / "policy.toml"
    assert load_policy(settings).rule_for("DE", "personal") is not None


def test_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    settings = load_settings(
        {"POLYROUTE_DATA_DIR": str(tmp_path), "POLYROUTE_POLICY": str(tmp_path / "nope.toml")}
    )
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy(settings)


def test_replace_mode_rule_without_allowed_is_an_error(tmp_path: Path) -> None:
    text = '[[rules]]\njurisdiction = "SA"\ndata_classes = "*"\nrequirements = { retention_days_max = 0 }\n'
    with pytest.raises(ConfigError, match="every rule needs `allowed`"):
        policy_with(tmp_path, text, mode="replace")


def test_version_is_stable_and_independent_of_rule_order(tmp_path: Path, default_policy: Policy) -> None:
    first = '[[rules]]\njurisdiction = "XA"\ndata_classes = ["public"]\nallowed = ["ANY"]\n'
    second = '[[rules]]\njurisdiction = "XB"\ndata_classes = ["public"]\nallowed = ["ANY"]\n'
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = policy_with(tmp_path / "a", first + second)
    b = policy_with(tmp_path / "b", second + first)
    assert a.version == b.version
    assert a.version.startswith("sha256:") and len(a.version) == 7 + 64
    assert load_policy(load_settings({"POLYROUTE_DATA_DIR": str(tmp_path)})).version == default_policy.version


def test_explain_lists_rules_of_one_jurisdiction(default_policy: Policy) -> None:
    explanation = default_policy.explain("eea")
    assert {rule.jurisdiction for rule in explanation.rules} == {"EU"}
    assert len(explanation.rules) == 9
    assert explanation.aliases["EEA"] == "EU"
    assert len(default_policy.explain().rules) == 126
    with pytest.raises(PolyrouteError, match="unknown jurisdiction 'XX'; known: AE"):
        default_policy.explain("XX")


def test_the_docs_example_loads_and_does_what_the_docs_say(tmp_path: Path, make: MakeDeployment) -> None:
    example = re.search(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert example is not None
    policy = policy_with(tmp_path, example.group(1))
    sa_rules = policy.explain("SA").rules
    assert all(r.requirements.trains_on_inputs is False and r.origin == "user" for r in sa_rules)
    us_bedrock = make("us-bedrock", processing=["US"], provider="bedrock")
    us_other = make("us-other", processing=["US"])
    assert policy.check("EU", "personal", us_bedrock, deployment_id="us-bedrock").allowed
    assert not policy.check("EU", "personal", us_other, deployment_id="us-other").allowed
    uae = make("uae", processing=["AE"], retention_days=30)
    assert not policy.check("AE", "health", uae, deployment_id="uae").allowed
    berlin = make("berlin", processing=["DE"])
    assert policy.check("DE", "government_secret", berlin, deployment_id="berlin").allowed
    assert not policy.check("DE", "personal", berlin, deployment_id="berlin").allowed
