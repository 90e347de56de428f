"""`/metrics` behind OAuth: a token from a real authorization server reads it only with scope
`governance:read`; without a token the 401 points at the resource metadata like every other path."""

from __future__ import annotations

import httpx2
import pytest
from authserver import AuthServer
from oauth_serving import make_app, serving

from polyroute.oauthconfig import OAuthSettings

pytestmark = [pytest.mark.slow]


def exposition() -> tuple[bytes, str]:
    return b"polyroute_cost_usd_total 0.5\n", "text/plain; version=0.0.4; charset=utf-8"


def scrape(base: str, token: str | None) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx2.Client(trust_env=False, timeout=10) as http:
        return http.get(f"{base}/metrics", headers=headers)


def test_metrics_need_governance_read_from_an_oauth_token(
    authserver: AuthServer, oauth_settings: OAuthSettings, port: int, provider_env: object
) -> None:
    with serving(make_app(), oauth_settings, port=port, metrics=exposition) as base:
        resource = oauth_settings.resource
        unauthenticated = scrape(base, None)
        assert unauthenticated.status_code == 401
        assert "resource_metadata=" in unauthenticated.headers["www-authenticate"]
        assert scrape(base, authserver.token(resource, scope="route")).status_code == 403
        allowed = scrape(base, authserver.token(resource, scope="governance:read"))
        assert allowed.status_code == 200 and allowed.text == "polyroute_cost_usd_total 0.5\n"
