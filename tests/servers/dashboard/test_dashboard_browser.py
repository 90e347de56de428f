"""The dashboard in a real browser (headless Chromium, JavaScript off): sign in with a token, read the
spend the audit tools report, open a refusal's receipt; unauthenticated, only the login form shows.
The screenshot docs/dashboard.md shows is taken here (POLYROUTE_DOCS_SCREENSHOT=1 writes it)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from dashboard_serving import ADMIN, READER, Site
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from tests.servers.chromium import chromium, require_chromium

from polyroute_servers.dashboard_views import NO_PROVIDER
from polyroute_servers.reporting.tables import money

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parents[3] / "docs" / "dashboard.png"


async def _summarize(base: str) -> dict[str, Any]:
    since = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {ADMIN}"}, trust_env=False, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool("summarize_usage", {"group_by": "provider", "since": since})
    assert result.structured_content, result.content
    return result.structured_content


def _cells(driver: Any, table: str) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def _sign_in(driver: Any, site: Site, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{site.base}/dashboard")
    assert driver.find_elements(By.ID, "token") and not driver.find_elements(By.ID, "spend")  # refused
    driver.find_element(By.ID, "token").send_keys(token)
    _submit_and_wait_for(driver, "principal")


def _submit_and_wait_for(driver: Any, element_id: str) -> None:
    """Click the login button and wait (up to 15 s) for the page it leads to: a click can return before
    the browser has loaded that page, so reading it at once raced the navigation on a loaded machine."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.ID, element_id))  # pyright: ignore[reportUnknownLambdaType, reportUnknownMemberType, reportUnknownArgumentType]


def _save_screenshot(driver: Any, where: Path) -> None:
    driver.save_screenshot(str(where))
    assert where.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("POLYROUTE_DOCS_SCREENSHOT") == "1":
        from PIL import Image

        Image.open(where).convert("RGB").quantize(colors=64).save(DOCS, optimize=True)


def test_sign_in_read_the_spend_and_open_a_refusals_receipt(served: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    require_chromium()
    expected = anyio.run(_summarize, served.base)
    with chromium(tmp_path / "profile") as driver:
        _sign_in(driver, served, READER)
        assert driver.find_element(By.ID, "principal").text == "http:auditor"
        shown = {row[0]: row for row in _cells(driver, "spend")}
        assert len(shown) == len(expected["rows"]) >= 1
        for row in expected["rows"]:
            cost = money(Decimal(str(row["cost_usd"])))
            assert shown[row["key"] or NO_PROVIDER][1:5] == [
                str(row["events"]),
                str(row["input_tokens"]),
                str(row["output_tokens"]),
                cost,
            ]
        total = sum((Decimal(str(row["cost_usd"])) for row in expected["rows"]), Decimal(0))
        assert driver.find_element(By.ID, "spend-total").text == money(total)
        assert "verified" in driver.find_element(By.ID, "chain-status").text
        _save_screenshot(driver, tmp_path / "dashboard.png")
        refusals = _cells(driver, "refusals")
        assert {row[2] for row in refusals} == {"http:agent", "http:capped"}  # residency and budget
        driver.find_element(By.CSS_SELECTOR, "#refusals tbody tr a").click()
        assert driver.find_element(By.TAG_NAME, "h1").text == "Receipt refused"
        assert driver.find_element(By.ID, "receipt").text.count("refused") >= 1


def test_without_a_session_the_browser_gets_only_the_login_form(served: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    require_chromium()
    with chromium(tmp_path / "profile") as driver:
        driver.get(f"{served.base}/dashboard/receipt/{served.receipts['completed'][0]}")
        assert driver.find_elements(By.ID, "token") and not driver.find_elements(By.ID, "receipt")
        driver.find_element(By.ID, "token").send_keys("a-wrong-token")
        _submit_and_wait_for(driver, "login-error")
        assert "not one this server accepts" in driver.find_element(By.ID, "login-error").text
        assert not driver.get_cookies()
