"""Bearer-token parsing and matching, without any transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from polyroute.errors import ConfigError
from polyroute.settings import HttpSettings, HttpToken, load_settings
from polyroute_servers.auth import Grant, digest, find_grant, load_grants, parse_env_tokens
from polyroute_servers.http import is_loopback, security_settings


def test_env_tokens_map_principals_to_scopes_and_default_to_every_scope() -> None:
    grants = parse_env_tokens(" ops=tok-1:route,audit:read ; ci=tok-2:governance:read;everything=tok-3 ;")
    assert [(g.principal, sorted(g.scopes)) for g in grants] == [
        ("ops", ["audit:read", "route"]),
        ("ci", ["governance:read"]),
        ("everything", ["*"]),
    ]
    assert grants[0].sha256 == digest("tok-1")
    assert grants[2].allows("audit:write") and not grants[1].allows("route")
    assert grants[0].caller == "http:ops" and Grant("http:x", "", frozenset()).caller == "http:x"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("s3cret-token-value", "entry 1: want principal=token"),
        ("ops=", "entry 1: want principal=token"),
        ("ops=fine;=s3cret-token-value", "entry 2: want principal=token"),
        ("ops=s3cret-token-value:route,root", "unknown scope(s) root"),
        ("ops=s3cret-token-value:", "no scopes listed"),  # an empty list must not mean every scope
        ("ops=s3cret-token-value: , ", "no scopes listed"),
    ],
)
def test_malformed_env_tokens_are_config_errors_that_never_show_the_token(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_env_tokens(text)
    assert says in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_config_tokens_are_kept_as_digests_and_joined_with_the_environment(tmp_path: Path) -> None:
    settings = load_settings().model_copy(
        update={
            "http": HttpSettings(
                tokens=[HttpToken(principal="svc", sha256=digest("cfg-token").upper(), scopes=["route"])]
            )
        }
    )
    grants = load_grants(settings, {"POLYROUTE_HTTP_TOKENS": "ops=env-token"})
    assert [g.principal for g in grants] == ["svc", "ops"]
    assert find_grant(grants, "cfg-token") == Grant("svc", digest("cfg-token"), frozenset({"route"}))
    assert find_grant(grants, "env-token") is not None and find_grant(grants, "cfg-token ") is None
    with pytest.raises(ConfigError, match="two HTTP tokens are the same"):
        load_grants(settings, {"POLYROUTE_HTTP_TOKENS": "again=cfg-token"})


@pytest.mark.parametrize(
    ("token", "says"),
    [({"principal": "svc", "scopes": []}, "no scopes listed"), ({"principal": " "}, "principal is empty")],
)
def test_config_tokens_without_scopes_or_principal_are_refused(token: dict[str, Any], says: str) -> None:
    tokens = [HttpToken(sha256=digest("cfg-token"), **token)]
    settings = load_settings().model_copy(update={"http": HttpSettings(tokens=tokens)})
    with pytest.raises(ConfigError, match=says):
        load_grants(settings, {})


def test_loopback_detection_and_allowed_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.5", "mcp.example.com"))
    settings = security_settings("10.0.0.5", ["mcp.example.com"])
    assert {"127.0.0.1:*", "10.0.0.5:*", "mcp.example.com", "mcp.example.com:*"} <= set(
        settings.allowed_hosts
    )
    assert "https://mcp.example.com" in settings.allowed_origins
    assert settings.enable_dns_rebinding_protection
