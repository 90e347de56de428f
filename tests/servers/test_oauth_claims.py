"""How identity providers' claims become Polyroute's principal, team and scopes, and what `[http.oauth]`
refuses at load. Pure functions: no network (the HTTP behaviour is in tests/servers/oauth/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyroute.errors import ConfigError
from polyroute.oauthconfig import OAuthSettings
from polyroute.settings import load_settings
from polyroute_servers.jwks import metadata_urls
from polyroute_servers.oauth import protected_resource_metadata, scopes_of, supported_scopes, teams_of

RESOURCE = "https://polyroute.example.com/mcp"
BASE = 'issuer = "https://i.example"\nresource = "https://p.example/mcp"'


def oauth(**fields: object) -> OAuthSettings:
    return OAuthSettings.model_validate({"issuer": "https://idp.example.com", "resource": RESOURCE, **fields})


def test_polyroute_scope_names_count_from_scope_or_scp_and_others_are_ignored() -> None:
    keycloak = {"scope": "openid profile route audit:read"}  # Keycloak, oidc-provider: one string
    okta = {"scp": ["route", "offline_access"]}  # Okta: a list
    assert scopes_of(keycloak, oauth()) == {"route", "audit:read"}
    assert scopes_of(okta, oauth()) == {"route"}
    assert (
        scopes_of({"scope": 42, "scp": {"route": True}}, oauth()) == frozenset()
    )  # odd shapes grant nothing


def test_a_scope_map_renames_and_only_mapped_names_count() -> None:
    entra = {"scp": "Polyroute.Route", "roles": ["Polyroute.Audit.Read"], "scope": "route"}
    renamed = {"Polyroute.Route": "route", "Polyroute.Audit.Read": "audit:read"}
    settings = oauth(scope_claims=["scp", "roles"], scope_map=renamed)
    assert scopes_of(entra, settings) == {"route", "audit:read"}
    assert scopes_of({"scp": "route"}, settings) == frozenset()  # an unmapped 'route' is another API's
    assert supported_scopes(settings) == ["Polyroute.Audit.Read", "Polyroute.Route"]


def test_teams_come_from_the_team_claim_as_a_string_or_a_list() -> None:
    assert teams_of({"team": "finance"}, oauth(team_claim="team")) == ["finance"]
    assert teams_of({"groups": ["b", "a", "b"]}, oauth(team_claim="groups")) == ["a", "b"]
    assert teams_of({"team": "finance"}, oauth()) == []


def test_metadata_names_this_resource_and_its_issuer_exactly() -> None:
    document = protected_resource_metadata(oauth(issuer="https://login.example.com/tenant/v2.0"))
    assert document["resource"] == RESOURCE
    assert document["authorization_servers"] == ["https://login.example.com/tenant/v2.0"]
    assert document["scopes_supported"] == ["route", "governance:read", "audit:read", "audit:write"]


def test_issuer_metadata_is_looked_for_where_rfc_8414_and_openid_connect_put_it() -> None:
    assert metadata_urls("https://idp.example.com") == [
        "https://idp.example.com/.well-known/oauth-authorization-server",
        "https://idp.example.com/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://idp.example.com/realms/acme/") == [
        "https://idp.example.com/.well-known/oauth-authorization-server/realms/acme",
        "https://idp.example.com/.well-known/openid-configuration/realms/acme",
        "https://idp.example.com/realms/acme/.well-known/openid-configuration",
    ]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('issuer = "http://idp.example.com"\nresource = "https://p.example.com/mcp"', "must use https://"),
        ('issuer = "https://idp.example.com"\nresource = "https://p.example.com/"', "ending in /mcp"),
        ('issuer = "https://i.example"\nresource = "https://p.example/mcp"\nalgorithms = ["HS256"]', "HS256"),
        ('issuer = "https://i.example"\nresource = "https://p.example/mcp"\nalgorithms = ["none"]', "none"),
        (f'{BASE}\n[http.oauth.scope_map]\nx = "root"', "unknown scope(s) root"),
        ('issuer = "https://i.example"\nresource = "https://p.example/mcp"\nleeway_seconds = 3600', "leeway"),
        ('issuer = "https://i.example"\nresource = "https://p.example/mcp"\nteam = "t"', "team"),
    ],
)
def test_config_mistakes_fail_at_load_with_the_field_named(table: str, problem: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[http.oauth]\n{table}\n")
    with pytest.raises(ConfigError, match="http.oauth") as raised:
        load_settings(config_file=config)
    assert problem in str(raised.value)


def test_without_oauth_config_the_setting_is_absent_and_loopback_http_issuers_are_fine(
    tmp_path: Path,
) -> None:
    assert load_settings().http.oauth is None
    config = tmp_path / "config.toml"
    config.write_text(
        '[http.oauth]\nissuer = "http://127.0.0.1:9000"\nresource = "http://localhost:8765/mcp"\n'
    )
    loaded = load_settings(config_file=config).http.oauth
    assert loaded is not None and loaded.required_audience == "http://localhost:8765/mcp"
