"""The evidence report's figures against the audit log they come from, period bounds, and a tampered log."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from report_fixtures import Logged

from polyroute.audit import EventQuery
from polyroute.audit.receipt import unresolved_ids
from polyroute.audit.store import sqlite_path
from polyroute.report import build_report

pytestmark = pytest.mark.anyio


async def test_the_figures_are_the_audit_logs_figures(logged: Logged) -> None:
    app = logged.app
    report = await build_report(app.audit, app.settings, app.policy)
    events = list(reversed(await app.audit.query(EventQuery(limit=10_000))))
    kinds = Counter(e.event_type for e in events)
    completions = [e for e in events if e.event_type == "completion"]
    assert report.totals.events == len(events) == report.chain.period_events
    assert (
        (report.totals.completions, report.totals.refusals, report.totals.failures)
        == (kinds["completion"], kinds["refusal"], kinds["failure"])
        == (4, 2, 0)
    )
    assert report.totals.cost_usd == sum((e.cost_usd or Decimal(0) for e in completions), Decimal(0)) > 0
    by_provider = {row.key: row.cost_usd for row in await app.audit.summarize("provider") if row.key}
    spent: Counter[str] = Counter()
    for row in report.spend:  # every principal here is in at most one team: no double counting
        spent[row.provider] += row.cost_usd  # type: ignore[assignment]
    assert dict(spent) == by_provider
    assert sum(r.calls for r in report.processing) == len(completions)
    assert sum(r.count for r in report.refusals) == 2
    assert {r.reason for r in report.refusals} == {"BudgetExceeded", "PolicyDenied"}
    assert [m.deployment for m in report.mismatches] == ["sa-cheap"]
    assert {u.receipt_id for u in report.outcome_unknown} == await unresolved_ids(app.audit) != set()
    assert {p.principal: p.teams for p in report.principals}["local:ops"] == ["ops"]


async def test_the_chain_status_lets_anyone_re_verify_the_period(logged: Logged) -> None:
    app = logged.app
    report = await build_report(app.audit, app.settings, app.policy)
    chain = report.chain
    last = (await app.audit.tail(1))[0]
    assert chain.verified and chain.reason is None and chain.events_checked == last.seq
    assert (chain.first_seq, chain.first_prev_hash) == (1, "0" * 64)
    assert (chain.last_seq, chain.last_hash) == (last.seq, last.hash)
    assert chain.head_hash == await app.audit.hash_at(chain.head_seq or 0)
    assert (
        chain.key_id == await app.audit.key_id() and chain.public_key_pem == await app.audit.public_key_pem()
    )
    rules = {r.rule: r for r in report.rules}
    assert any("PDPL" in source for source in rules["SA/personal"].sources)
    assert {s.id for s in report.sections} == {
        "eu-ai-act-art-12",
        "gdpr-art-30",
        "sa-pdpl-art-29",
        "ae-pdpl-art-22-23",
    }


async def test_a_period_counts_only_its_events_and_an_outcome_after_it_still_closes_its_intent(
    logged: Logged,
) -> None:
    app = logged.app
    events = list(reversed(await app.audit.query(EventQuery(limit=10_000))))
    outcome = next(e for e in events if e.event_type == "completion" and e.seq > 4)
    intent = next(e for e in events if e.id == outcome.intent_id)
    report = await build_report(app.audit, app.settings, app.policy, since=intent.time, until=outcome.time)
    inside = [e for e in events if intent.time <= e.time < outcome.time]
    assert (
        report.totals.events == len(inside) >= 1
    )  # by event time (a queued append may commit out of time order)
    assert (report.chain.first_seq, report.chain.last_seq) == (inside[0].seq, inside[-1].seq)
    assert intent.id not in {u.receipt_id for u in report.outcome_unknown}
    later = await build_report(
        app.audit, app.settings, app.policy, since=events[-1].time + timedelta(seconds=1)
    )
    assert later.totals.events == 0 and later.chain.verified and later.chain.first_seq is None


async def test_a_tampered_log_is_reported_as_failed_verification(logged: Logged) -> None:
    app = logged.app
    path = sqlite_path(app.settings.audit_url)
    await app.audit.aclose()
    with sqlite3.connect(path) as db:
        changed = db.execute(
            'UPDATE events SET body = replace(body, \'"principal":"\', \'"principal":"x\') WHERE seq = 3'
        )
        assert changed.rowcount == 1
    report = await build_report(app.audit, app.settings, app.policy)
    assert not report.chain.verified and report.chain.reason


async def test_an_event_tampered_into_nonsense_is_counted_as_unreadable_not_a_crash(logged: Logged) -> None:
    app = logged.app
    path = sqlite_path(app.settings.audit_url)
    await app.audit.aclose()
    with sqlite3.connect(path) as db:
        assert db.execute("UPDATE events SET body = '{\"seq\":4}' WHERE seq = 4").rowcount == 1
        (stored,) = db.execute("SELECT count(*) FROM events").fetchone()
    report = await build_report(app.audit, app.settings, app.policy)
    assert not report.chain.verified and report.chain.reason
    assert report.chain.unreadable_events == 1 and report.totals.events == stored - 1
