"""`polyroute report` end to end: JSON is the model, HTML is self-contained, the PDF renders to pages
(pdftoppm) whose text (pdftotext) holds the key figures, and a tampered log exits 1 saying so."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from tests.servers.chromium import skip_or_fail

from polyroute.audit.store import sqlite_path
from polyroute.settings import load_settings
from polyroute_servers.cli import main
from polyroute_servers.reporting.tables import money


def _report(tmp_path: Path, form: str, *extra: str) -> tuple[int, Path]:
    out = tmp_path / f"report.{form}"
    return main(["report", "--format", form, "--output", str(out), *extra]), out


def _tamper() -> None:
    with sqlite3.connect(sqlite_path(load_settings().audit_url)) as db:
        assert (
            db.execute(
                'UPDATE events SET body = replace(body, \'"principal":"\', \'"principal":"x\') WHERE seq = 2'
            ).rowcount
            == 1
        )


def test_json_is_the_model_and_agrees_with_the_log(written_log: dict[str, list[str]], tmp_path: Path) -> None:
    code, out = _report(tmp_path, "json", "--since", "2000-01-01")
    document = json.loads(out.read_text())
    assert code == 0 and document["format"] == "polyroute-evidence-report/1" and document["chain"]["verified"]
    assert document["totals"]["completions"] == len(written_log["completed"]) == 4
    assert {u["receipt_id"] for u in document["outcome_unknown"]} == set(written_log["unknown"])
    assert document["since"].startswith("2000-01-01T00:00:00")


def test_html_is_self_contained_with_its_charts_inline(
    written_log: dict[str, list[str]], tmp_path: Path
) -> None:
    code, out = _report(tmp_path, "html")
    page = out.read_text()
    assert code == 0 and "Audit chain verified" in page and page.count("<svg") == 3
    assert not re.search(r"<script|<link|<img|src=\"http|href=\"http|@import|url\(http", page)
    for citation in ("Regulation (EU) 2024/1689", "Article 30", "Article 29", "Decree-Law No. 45 of 2021"):
        assert citation in page
    assert "What this report does not prove" in page


def test_a_tampered_log_exits_1_and_the_report_says_so_first(
    written_log: dict[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper()
    code, out = _report(tmp_path, "html")
    page = out.read_text()
    assert code == 1 and "AUDIT VERIFICATION FAILED" in capsys.readouterr().err
    assert page.index("VERIFICATION FAILED") < page.index("Routed calls")


def test_bad_periods_are_usage_errors(written_log: dict[str, list[str]], tmp_path: Path) -> None:
    assert _report(tmp_path, "json", "--since", "2026-12-02", "--until", "2026-12-01")[0] == 2
    with pytest.raises(SystemExit) as exited:
        main(["report", "--since", "last tuesday"])
    assert exited.value.code == 2


def _poppler() -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        skip_or_fail("the PDF test needs poppler-utils (pdftoppm, pdftotext)")


@pytest.mark.slow
def test_the_pdf_renders_to_pages_whose_text_holds_the_key_figures(
    written_log: dict[str, list[str]], tmp_path: Path
) -> None:
    _poppler()
    code, out = _report(tmp_path, "pdf")
    figures = json.loads(_report(tmp_path, "json")[1].read_text())
    assert code == 0 and out.read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(out), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 5000 for p in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "Audit chain verified" in text and figures["chain"]["key_id"] in text
    assert money(Decimal(str(figures["totals"]["cost_usd"]))) in text
    assert re.search(rf"Routed calls\s+{figures['totals']['routed_calls']}\b", text)
    assert figures["chain"]["last_hash"][:40] in text.replace("\n", "")
