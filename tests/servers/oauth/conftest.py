"""Fixtures for the OAuth resource-server tests: a real authorization server (oidc-provider) and the
Polyroute suite behind the HTTP gate on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from authserver import AuthServer, install
from oauth_serving import free_port, make_app, serving

from polyroute.oauthconfig import OAuthSettings


@pytest.fixture(scope="session")
def authserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    where = tmp_path_factory.mktemp("oidc-provider")
    running = AuthServer(install(where), where / "authserver.log")
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def oauth_settings(authserver: AuthServer, port: int) -> OAuthSettings:
    return OAuthSettings(issuer=authserver.issuer, resource=f"http://127.0.0.1:{port}/mcp", team_claim="team")


@pytest.fixture
def served(oauth_settings: OAuthSettings, port: int, provider_env: Any) -> Iterator[str]:
    with serving(make_app(), oauth_settings, port=port) as base:
        yield base
