"""The report as one self-contained HTML file: inline CSS, charts as inline SVG, no scripts, no fonts or
images fetched from anywhere (safe to attach to a ticket and open offline)."""

from __future__ import annotations

from html import escape

from polyroute.report import EvidenceReport
from polyroute_servers.reporting.charts import charts, svg
from polyroute_servers.reporting.style import CSS
from polyroute_servers.reporting.tables import Table, chain_rows, period, tables, totals_rows


def _table(table: Table) -> str:
    if not table.rows:
        return f'<p class="muted">{escape(table.empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    return f'<table id="{table.id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def banner(verified: bool, reason: str | None) -> str:
    if verified:
        said = "Audit chain verified: signed heads and hashes check out."
        return f'<div class="banner ok" id="chain-status">{said}</div>'
    return (
        f'<div class="banner bad" id="chain-status" role="alert">VERIFICATION FAILED — do not rely on '
        f"the figures below: {escape(reason or 'unknown reason')}</div>"
    )


def _chain(report: EvidenceReport) -> str:
    rows = "".join(
        f'<tr><th>{escape(k)}</th><td class="hash">{escape(v)}</td></tr>' for k, v in chain_rows(report)
    )
    pem = escape(report.chain.public_key_pem or "(no public key available)")
    how = (
        "Re-verify from an export: <code>polyroute audit export --output log.jsonl</code>, then "
        "<code>polyroute audit verify --file log.jsonl --public-key key.pem "
        "--anchor HEAD_SEQ:HEAD_HASH</code> "
        "with the public key below and the signed head above."
    )
    return f'<table id="chain">{rows}</table><p>{how}</p><pre class="hash">{pem}</pre>'


def _sections(report: EvidenceReport) -> str:
    items = "".join(
        f"<tr><td><b>{escape(s.title)}</b><br><span class=muted>{escape(s.source)}</span></td>"
        f"<td>{escape(s.asks)}</td><td>{escape(', '.join(s.answered_by))}</td>"
        f"<td>{escape(s.not_proven)}</td></tr>"
        for s in report.sections
    )
    names = ("Requirement (source)", "What it asks", "Answered by", "Not proven here")
    head = "<tr>" + "".join(f"<th>{name}</th>" for name in names) + "</tr>"
    return f'<table id="sections"><thead>{head}</thead><tbody>{items}</tbody></table>'


def render_html(report: EvidenceReport) -> str:
    tiles = "".join(f'<div class="tile">{escape(k)}<b>{escape(v)}</b></div>' for k, v in totals_rows(report))
    figures = "".join(f'<div class="chart">{svg(f)}</div>' for f in charts(report))
    parts = "".join(f"<h2>{escape(t.title)}</h2>{_table(t)}" for t in tables(report))
    limits = "".join(f"<li>{escape(text)}</li>" for text in report.not_proven)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Polyroute evidence report</title><style>{CSS}</style></head><body>
<p class="muted">Polyroute evidence report · generated {report.generated_at:%Y-%m-%d %H:%M:%S} UTC · store
<code>{escape(report.store)}</code></p>
<h1>Evidence report: {escape(period(report))}</h1>
{banner(report.chain.verified, report.chain.reason)}
<div class="grid" id="totals">{tiles}</div>
<h2>What regulators ask, and where this report answers</h2>{_sections(report)}
<h2>Charts</h2>{figures or '<p class="muted">no routed calls in this period</p>'}
{parts}
<h2>Chain status (re-verify it yourself)</h2>{_chain(report)}
<h2>What this report does not prove</h2><ul id="not-proven">{limits}</ul>
</body></html>
"""
