"""The dashboard's pages, rendered on the server: plain HTML and inline CSS, no scripts, no external
assets (the Content-Security-Policy in dashboard.py forbids both), so they work with JavaScript off."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from polyroute.audit.event import AuditEvent
from polyroute.audit.receipt import Receipt
from polyroute.budget import usd
from polyroute_servers.dashboard_data import Snapshot
from polyroute_servers.reporting.html import banner
from polyroute_servers.reporting.style import CSS
from polyroute_servers.reporting.tables import money

BASE = "/dashboard"
NO_PROVIDER = "(none: refused)"


def page(title: str, body: str, principal: str | None = None) -> str:
    who = ""
    if principal is not None:
        who = (
            f'<span>signed in as <b id="principal">{escape(principal)}</b></span><form method="post" '
            f'action="{BASE}/logout"><button type="submit">Log out</button></form>'
        )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width,initial-scale=1"><title>{escape(title)} · Polyroute</title>'
        f'<style>{CSS}</style></head><body><nav><a href="{BASE}"><b>Polyroute</b> governance</a>{who}'
        f"</nav><h1>{escape(title)}</h1>{body}</body></html>"
    )


def login_page(error: str | None = None) -> str:
    problem = f'<p class="error" id="login-error" role="alert">{escape(error)}</p>' if error else ""
    form = (
        f'{problem}<form method="post" action="{BASE}/login"><p><label>Access token<br>'
        '<input type="password" name="token" id="token" autocomplete="off" required size="48"></label></p>'
        '<p><button type="submit" '
        'id="login">Sign in</button></p></form><p class="muted">Use the bearer token (or an OAuth access '
        "token) you use for the MCP endpoint; it needs the governance:read and audit:read scopes. It is "
        "checked once and not stored: the browser gets a session cookie that lasts an hour.</p>"
    )
    return page("Sign in", form)


def forbidden_page(principal: str) -> str:
    text = (
        f"<p>{escape(principal)} is signed in but its token lacks the <b>governance:read</b> and "
        "<b>audit:read</b> scopes the dashboard needs.</p>"
    )
    return page("Not allowed", text, principal)


def _rows(headers: tuple[str, ...], rows: list[tuple[str, ...]], table_id: str, empty: str = "none") -> str:
    if not rows:
        return f'<p class="muted" id="{table_id}">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows
    )  # cells pre-escaped
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def receipt_link(event: AuditEvent) -> str:
    receipt = event.intent_id or event.id
    return f'<a href="{BASE}/receipt/{quote(receipt)}">{escape(receipt)}</a>'


def _calls(events: list[AuditEvent], table_id: str) -> str:
    rows = [
        (
            f"{e.time:%H:%M:%S}",
            escape(e.event_type),
            escape(e.principal),
            escape(e.deployment or "-"),
            escape(f"{e.jurisdiction}/{e.data_class}"),
            escape(money(e.cost_usd)) if e.cost_usd is not None else "-",
            escape("; ".join(e.reasons)[:160]),
            receipt_link(e),
        )
        for e in events
    ]
    headers = (
        "Time (UTC)",
        "Outcome",
        "Principal",
        "Deployment",
        "Jurisdiction/class",
        "Cost",
        "Reason",
        "Receipt",
    )
    return _rows(headers, rows, table_id)


def _spend(snap: Snapshot) -> str:
    rows = [
        (
            escape(r.key or NO_PROVIDER),
            str(r.events),
            str(r.input_tokens),
            str(r.output_tokens),
            escape(money(r.cost_usd)),
            str(r.outcome_unknown),
        )
        for r in snap.spend
    ]
    total = sum((r.cost_usd for r in snap.spend), start=0 * snap.spend[0].cost_usd) if snap.spend else None
    head = f'<p>Total today: <b id="spend-total">{escape(money(total))}</b></p>' if total is not None else ""
    return head + _rows(
        ("Provider", "Calls", "Input tokens", "Output tokens", "Cost", "Outcome unknown"),
        rows,
        "spend",
        "no routed calls today",
    )


def _budgets(snap: Snapshot) -> str:
    rows = [
        (
            escape(b.status.scope),
            escape(f"{b.status.period} ({b.status.period_key})"),
            escape(usd(b.status.limit_usd)),
            escape(usd(b.status.spent_usd)),
            escape(usd(b.status.reserved_usd)),
            escape(usd(max(b.status.remaining_usd, 0 * b.status.remaining_usd))),
            f"{b.resets_at:%Y-%m-%d %H:%M}",
        )
        for b in snap.budgets
    ]
    headers = ("Budget", "Period", "Limit", "Spent", "Reserved (in flight)", "Headroom", "Resets (UTC)")
    return _rows(headers, rows, "budgets", "no budgets configured")


def _health(snap: Snapshot) -> str:
    rows = [
        (
            escape(d.id),
            escape(d.provider),
            escape(d.state),
            escape(d.blocked or "-"),
            f"{d.latency_ms:.0f}",
            escape(d.requests_per_minute),
            escape(d.tokens_per_minute),
        )
        for d in snap.deployments
    ]
    headers = (
        "Deployment",
        "Provider",
        "Breaker",
        "Blocked because",
        "Latency est. (ms)",
        "Requests/min used/limit",
        "Tokens/min used/limit",
    )
    return _rows(headers, rows, "deployments")


def _policy(snap: Snapshot) -> str:
    rows = [
        (escape(r.id), escape(", ".join(r.allowed)), escape(r.origin), escape("; ".join(r.citations) or "-"))
        for r in snap.rules
    ]
    return (
        f'<p>Version <code id="policy-version">{escape(snap.policy_version)}</code>, '
        f"{len(snap.rules)} rules.</p>"
        f"<details><summary>Rules and their sources</summary>"
        f"{_rows(('Rule', 'Allowed locations', 'Origin', 'Sources'), rows, 'rules')}</details>"
    )


def dashboard_page(snap: Snapshot) -> str:
    chain = (
        banner(snap.chain.ok, snap.chain.said)
        + f'<p class="muted">{escape(snap.chain.said)}. This is the quick '
        "check a server makes at start; <code>polyroute audit verify</code> recomputes the whole chain.</p>"
    )
    body = (
        f'<p class="muted">As of {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC (reload for fresh figures).</p>{chain}'
        f"<h2>Spend today (since {snap.since:%Y-%m-%d} 00:00 UTC)</h2>{_spend(snap)}"
        f"<h2>Budget headroom</h2>{_budgets(snap)}"
        f"<h2>Recent routed calls</h2>{_calls(snap.recent, 'recent')}"
        f"<h2>Recent refusals</h2>{_calls(snap.refusals, 'refusals')}"
        f"<h2>Outcome unknown</h2>{_calls(snap.unknown, 'unknown')}"
        f"<h2>Breakers and capacity</h2>{_health(snap)}"
        f"<h2>Policy in force</h2>{_policy(snap)}"
    )
    return page("Governance dashboard", body, snap.principal)


def receipt_page(receipt: Receipt, principal: str) -> str:
    facts = [
        ("Receipt", receipt.receipt_id),
        ("Status", receipt.status),
        ("Time", f"{receipt.time:%Y-%m-%d %H:%M:%S} UTC"),
        ("Principal", receipt.principal),
        ("Deployment", receipt.deployment or "-"),
        ("Jurisdiction / class", f"{receipt.jurisdiction}/{receipt.data_class}"),
        ("Policy version", receipt.policy_version or "-"),
        ("Reasons", "; ".join(receipt.reasons) or "-"),
        ("Cost", money(receipt.cost_usd) if receipt.cost_usd is not None else "-"),
        ("Event (seq, hash)", f"{receipt.seq} {receipt.hash}"),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    details = escape(json.dumps(receipt.details, indent=2, ensure_ascii=False, default=str))
    body = (
        f'<table id="receipt">{table}</table><h2>Plan and attempts</h2><pre class="hash">{details}</pre>'
        f'<p><a href="{BASE}">Back to the dashboard</a></p>'
    )
    return page(f"Receipt {receipt.status}", body, principal)
