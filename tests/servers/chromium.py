"""Debian's headless Chromium driven by selenium through /usr/bin/chromedriver (never a downloaded
driver: selenium's own manager is bypassed by naming both binaries). Absent → the test skips with a
notice, unless POLYROUTE_REQUIRE_CHROMIUM=1 (set by .ci/run), which makes it a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

DRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1500",
    "--hide-scrollbars",
)


UNAVAILABLE: list[str] = []  # reasons, printed at the end of the run (terminal_notice)


def skip_or_fail(reason: str) -> None:
    """Skip with a notice at the end of the run; fail instead under POLYROUTE_REQUIRE_CHROMIUM=1 (CI)."""
    if os.environ.get("POLYROUTE_REQUIRE_CHROMIUM") == "1":
        pytest.fail(reason + " (POLYROUTE_REQUIRE_CHROMIUM=1)", pytrace=False)
    if reason not in UNAVAILABLE:
        UNAVAILABLE.append(reason)
    pytest.skip(reason)


def terminal_notice(reporter: pytest.TerminalReporter) -> None:
    """For conftest's pytest_terminal_summary: say once which browser/PDF tests did not run, and why."""
    for reason in UNAVAILABLE:
        reporter.write_line(f"NOTICE: skipped: {reason}", yellow=True)
    UNAVAILABLE.clear()


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The chromium binary; skips (fails under POLYROUTE_REQUIRE_CHROMIUM=1) without it or its driver."""
    binary = chromium_binary()
    if binary is None or not Path(DRIVER).exists():
        skip_or_fail(
            "browser tests need Debian's chromium and chromium-driver (apt-get install chromium "
            "chromium-driver)"
        )
    try:
        import selenium  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        skip_or_fail("browser tests need selenium (the `test` extra)")
    assert binary is not None
    return binary


@contextmanager
def chromium(profile: Path, *, javascript: bool = False) -> Iterator[Any]:
    """A fresh headless browser with its own profile; JavaScript off unless asked for."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = require_chromium()
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
