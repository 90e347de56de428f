"""The report as PDF with reportlab (no browser): the same tables and charts as the HTML, A4."""

from __future__ import annotations

import io
from typing import Any

from polyroute.report import EvidenceReport
from polyroute_servers.reporting.charts import charts, png
from polyroute_servers.reporting.tables import Table, chain_rows, period, tables, totals_rows


def _grid(rows: list[tuple[str, ...]], style: Any, widths: list[float] | None = None) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph
    from reportlab.platypus import Table as Grid

    cells = [[Paragraph(_safe(c), style) for c in row] for row in rows]
    grid = Grid(cells, colWidths=widths, repeatRows=1)
    grid.setStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ]
    )
    return grid


def _safe(text: str) -> str:
    """reportlab paragraphs take a small markup language: escape it, and let long hashes wrap."""
    from xml.sax.saxutils import escape

    return escape(text).replace("…", "...")


def _table(table: Table, styles: Any, small: Any) -> list[Any]:
    from reportlab.platypus import Paragraph

    flow: list[Any] = [Paragraph(_safe(table.title), styles["Heading2"])]
    if not table.rows:
        return [*flow, Paragraph(table.empty, styles["Italic"])]
    return [*flow, _grid([table.headers, *table.rows], small)]


def _verdict(report: EvidenceReport, styles: Any) -> Any:
    """The verification result as the first thing on page one: green when it held, red when not."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    ok = report.chain.verified
    style = ParagraphStyle(
        "verdict",
        parent=styles["Heading2"],
        borderPadding=6,
        borderWidth=2,
        textColor=colors.darkgreen if ok else colors.darkred,
        borderColor=colors.green if ok else colors.red,
    )
    said = (
        "Audit chain verified: signed heads and hashes check out."
        if ok
        else (f"VERIFICATION FAILED - do not rely on the figures below: {report.chain.reason}")
    )
    return Paragraph(_safe(said), style)


def _front(report: EvidenceReport, styles: Any, small: Any) -> list[Any]:
    """Title, verdict, totals, the regulatory map and the charts."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, Spacer

    sections = [(f"{s.title} ({s.source})", s.asks, s.not_proven) for s in report.sections]
    flow: list[Any] = [
        Paragraph(f"Evidence report: {_safe(period(report))}", styles["Title"]),
        _verdict(report, styles),
        Spacer(1, 4 * mm),
        _grid([("Figure", "Value"), *totals_rows(report)], small, [60 * mm, 60 * mm]),
        Paragraph("What regulators ask, and where this report answers", styles["Heading2"]),
        _grid([("Requirement (source)", "What it asks", "Not proven here"), *sections], small),
    ]
    return flow + [Image(io.BytesIO(png(f)), width=170 * mm, height=69 * mm) for f in charts(report)]


def _back(report: EvidenceReport, styles: Any, small: Any) -> list[Any]:
    """The chain status and what the report does not prove."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    return [
        Paragraph("Chain status (re-verify it yourself)", styles["Heading2"]),
        _grid([("Item", "Value"), *chain_rows(report)], small, [50 * mm, 120 * mm]),
        Paragraph("What this report does not prove", styles["Heading2"]),
        *[Paragraph(f"- {_safe(text)}", small) for text in report.not_proven],
    ]


def render_pdf(report: EvidenceReport) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=7.5, leading=9)
    flow = _front(report, styles, small)
    for table in tables(report):
        flow += _table(table, styles, small)
    flow += _back(report, styles, small)
    out = io.BytesIO()
    margins = {"leftMargin": 18 * mm, "rightMargin": 18 * mm, "topMargin": 16 * mm, "bottomMargin": 16 * mm}
    document = SimpleDocTemplate(
        out, pagesize=A4, title="Polyroute evidence report", author="Polyroute", **margins
    )
    document.build(flow)
    return out.getvalue()
