"""/dashboard over real HTTP: who gets in (bearer header, login session, neither), what the cookie
holds, and that the page's figures are the audit tools' figures."""

from __future__ import annotations

import re

import httpx2
import pytest
from dashboard_serving import ADMIN, READER, ROUTER, Site

pytestmark = pytest.mark.slow


def get(site: Site, path: str, token: str | None = None, **kwargs: object) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx2.Client(trust_env=False, timeout=20) as http:
        return http.get(f"{site.base}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def test_unauthenticated_is_refused_with_the_login_form_and_a_bearer_challenge(served: Site) -> None:
    page = get(served, "/dashboard")
    assert page.status_code == 401 and page.headers["www-authenticate"].startswith("Bearer")
    assert '<form method="post" action="/dashboard/login">' in page.text and "Spend" not in page.text
    assert get(served, f"/dashboard/receipt/{served.receipts['completed'][0]}").status_code == 401
    assert get(served, "/dashboard", "not-a-token").status_code == 401


def test_a_token_without_the_read_scopes_is_forbidden(served: Site) -> None:
    page = get(served, "/dashboard", ROUTER)
    assert page.status_code == 403 and "governance:read" in page.text and "Spend" not in page.text


def test_a_reader_token_sees_the_page_with_strict_headers_and_no_external_assets(served: Site) -> None:
    page = get(served, "/dashboard", READER)
    assert page.status_code == 200, page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert not re.search(r"<script|src=\"http|href=\"http|@import|url\(", page.text)
    assert 'id="principal">http:auditor<' in page.text
    assert served.receipts["completed"][0] in page.text  # recent calls link to their receipts
    receipt = get(served, f"/dashboard/receipt/{served.receipts['completed'][0]}", READER)
    assert receipt.status_code == 200 and "completed" in receipt.text
    assert get(served, "/dashboard/receipt/evt_nope", READER).status_code == 404
    assert get(served, "/dashboard/receipt/%3Cscript%3E", READER).status_code == 404


def test_login_opens_a_session_whose_cookie_is_not_the_token_and_logout_ends_it(served: Site) -> None:
    with httpx2.Client(base_url=served.base, trust_env=False, timeout=20) as http:
        refused = http.post("/dashboard/login", data={"token": "wrong"})
        assert refused.status_code == 401 and "not one this server accepts" in refused.text
        forbidden = http.post("/dashboard/login", data={"token": ROUTER})
        assert forbidden.status_code == 403
        login = http.post("/dashboard/login", data={"token": ADMIN})
        assert login.status_code == 303 and login.headers["location"] == "/dashboard"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
        assert "Secure" not in cookie  # loopback: plain http is fine, and a Secure cookie would not come back
        assert ADMIN not in cookie and "admin" not in cookie.split(";")[0]
        assert http.get("/dashboard").status_code == 200
        assert http.post("/dashboard").status_code == 405  # views only read
        assert http.post("/dashboard/logout").status_code == 303
        http.cookies.set("polyroute_dashboard", login.cookies["polyroute_dashboard"], path="/dashboard")
        assert http.get("/dashboard").status_code == 401  # the old cookie is dead server-side


def test_a_cross_site_login_post_is_refused_by_the_gate(served: Site) -> None:
    with httpx2.Client(base_url=served.base, trust_env=False, timeout=20) as http:
        forged = http.post(
            "/dashboard/login", data={"token": ADMIN}, headers={"Origin": "https://evil.example"}
        )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
