"""Replays of a recorded log under a tightened policy, a removed provider and a price rise, with the
outcome of every call known in advance (see sim_fixtures' table)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sim_fixtures import CALLS, TIGHTENED_POLICY

from polyroute.app import App
from polyroute.audit import EventQuery
from polyroute.errors import ConfigError, PolyrouteError
from polyroute.simreport import SimulationReport
from polyroute.simulation import Proposal, Window, simulate

pytestmark = pytest.mark.anyio


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def changes(report: SimulationReport) -> set[tuple[Any, ...]]:
    return {(c.kind, c.from_deployment, c.to_deployment, c.rule, c.calls) for c in report.changes}


def counts(report: SimulationReport) -> tuple[int, int, int, int, int]:
    s = report.summary
    return s.calls, s.unchanged, s.rerouted, s.newly_refused, s.newly_allowed


async def logged_cost(app: App, deployment: str, rates: tuple[str, str]) -> tuple[Decimal, Decimal]:
    """(logged spend, the same usage at `rates` USD per Mtok) over the completions on `deployment`."""
    events = await app.audit.query(EventQuery(event_type="completion", deployment=deployment, limit=1000))
    spent = sum((e.cost_usd or Decimal(0) for e in events), Decimal(0))
    per_in, per_out = (Decimal(r) / 1_000_000 for r in rates)
    usage = [e.usage for e in events if e.usage is not None]
    return spent, sum((u.input_tokens * per_in + u.output_tokens * per_out for u in usage), Decimal(0))


async def test_no_change_leaves_every_call_unchanged_and_matches_the_log(recorded: App) -> None:
    report = await simulate(recorded, Proposal(), Window())
    assert counts(report) == (CALLS, CALLS, 0, 0, 0) and report.changes == []
    s = report.summary
    assert s.replay_differs_from_log == 0 and s.assumed_facts == 0 and s.outcome_unknown == 0
    assert s.spend_usd == s.simulated_spend_usd == s.baseline_spend_usd > 0
    assert report.baseline == report.proposed
    assert report.log.head_seq == report.log.events_read == 2 * CALLS - 2  # intent + outcome; 2 refusals
    assert report.log.policy_versions == [recorded.policy.version]


async def test_a_tightened_policy(recorded: App, tmp_path: Path) -> None:
    policy = write(tmp_path, "tight.toml", TIGHTENED_POLICY)
    report = await simulate(recorded, Proposal(policy=policy), Window())
    assert counts(report) == (CALLS, 13, 5, 4, 2)
    assert changes(report) == {
        ("rerouted", "us-cheap", "ae-local", None, 5),
        ("newly_refused", "eu-mid", None, "EU/personal", 4),
        ("newly_allowed", None, "eu-mid", "QA/personal", 2),
    }
    assert report.proposed.policy_version != report.baseline.policy_version
    assert report.proposed.catalog_digest == report.baseline.catalog_digest
    rows = {(r.jurisdiction, r.data_class): (r.calls, r.rerouted, r.newly_refused, r.newly_allowed)
            for r in report.by_classification}  # fmt: skip
    assert rows == {
        ("unspecified", "public"): (6, 0, 0, 0), ("AE", "internal"): (4, 0, 0, 0),
        ("AE", "personal"): (5, 5, 0, 0), ("SA", "personal"): (3, 0, 0, 0),
        ("EU", "personal"): (4, 0, 4, 0), ("QA", "personal"): (2, 0, 0, 2),
    }  # fmt: skip
    teams = {r.key: (r.calls, r.rerouted, r.newly_refused, r.newly_allowed) for r in report.by_team}
    assert teams == {"all": (24, 5, 4, 2), "gulf": (8, 5, 0, 0), "europe": (6, 0, 4, 2)}
    moved = next(c for c in report.changes if c.kind == "rerouted")
    spent, at_ae = await logged_cost(recorded, "us-cheap", ("2", "6"))
    ae_share = [r for r in report.by_classification if (r.jurisdiction, r.data_class) == ("AE", "personal")][
        0
    ]
    assert moved.spend_usd == ae_share.spend_usd and moved.simulated_spend_usd == ae_share.simulated_spend_usd
    assert moved.delta_usd == moved.simulated_spend_usd - moved.spend_usd > 0
    assert spent > moved.spend_usd and at_ae > moved.simulated_spend_usd  # us-cheap also took public calls
    refused = next(c for c in report.changes if c.kind == "newly_refused")
    assert refused.simulated_spend_usd == 0 and refused.delta_usd == -refused.spend_usd
    assert report.largest_by_count[0].kind == "rerouted" and report.largest_by_cost[0].kind == "rerouted"


async def test_a_removed_provider(recorded: App, tmp_path: Path) -> None:
    catalog = write(tmp_path, "catalog.toml", 'bundled = false\nexclude_providers = ["anthropic"]\n')
    report = await simulate(recorded, Proposal(catalog=catalog), Window())
    assert counts(report) == (CALLS, 9, 15, 0, 0)
    assert changes(report) == {
        ("rerouted", "us-cheap", "anywhere", None, 10),
        ("rerouted", "us-cheap", "ae-local", None, 5),
    }
    assert report.proposed.catalog_digest != report.baseline.catalog_digest
    assert report.proposed.policy_version == report.baseline.policy_version
    spent, at_anywhere = await logged_cost(recorded, "us-cheap", ("0.2", "0.8"))
    to_anywhere = next(c for c in report.changes if c.to_deployment == "anywhere")
    to_ae = next(c for c in report.changes if c.to_deployment == "ae-local")
    assert to_anywhere.spend_usd + to_ae.spend_usd == spent
    by_principal = {r.key: r.rerouted for r in report.by_principal}
    assert by_principal == {"alice": 10, "bob": 5, "carol": 0}
    assert at_anywhere > to_anywhere.simulated_spend_usd > 0


async def test_a_price_rise_doubles_the_spend_it_touches(recorded: App, tmp_path: Path) -> None:
    prices = write(tmp_path, "prices.toml", (
        '[prices.sa-local]\ninput_per_mtok = 2\noutput_per_mtok = 8\n'
        '[prices."anywhere-model"]\ninput_per_mtok = 0.01\noutput_per_mtok = 0.01\n'
    ))  # fmt: skip
    report = await simulate(recorded, Proposal(prices=prices), Window())
    assert counts(report) == (CALLS, 14, 10, 0, 0)
    assert changes(report) == {("rerouted", "us-cheap", "anywhere", None, 10)}
    saudi = [r for r in report.by_classification if r.jurisdiction == "SA"][0]
    assert saudi.unchanged == 3 and saudi.spend_usd > 0
    assert saudi.simulated_spend_usd == 2 * saudi.spend_usd  # same route, same usage, twice the rates
    assert report.proposed.prices_digest != report.baseline.prices_digest
    assert (
        report.proposed.catalog_digest != report.baseline.catalog_digest
    )  # explicit prices are catalog facts


async def test_the_window_principal_and_team_filters(recorded: App) -> None:
    assert (await simulate(recorded, Proposal(), Window(principal="bob"))).summary.calls == 8
    assert (await simulate(recorded, Proposal(), Window(team="europe"))).summary.calls == 6
    first, *_ = await recorded.audit.tail(1)
    later = await simulate(recorded, Proposal(), Window(since=first.time))
    assert later.summary.calls == 1 and later.log.since is not None
    assert (await simulate(recorded, Proposal(), Window(until=first.time))).summary.calls == CALLS - 1


async def test_the_same_log_and_inputs_give_a_byte_identical_report(recorded: App, tmp_path: Path) -> None:
    policy = write(tmp_path, "tight.toml", TIGHTENED_POLICY)
    first = await simulate(recorded, Proposal(policy=policy), Window())
    again = await simulate(recorded, Proposal(policy=policy), Window())
    assert first.model_dump_json() == again.model_dump_json()


async def test_a_tampered_log_gets_no_report(recorded: App) -> None:
    import sqlite3

    from polyroute.audit.store import sqlite_path

    with sqlite3.connect(sqlite_path(recorded.settings.audit_url)) as db:
        db.execute('UPDATE events SET body = replace(body, \'"principal":"bob"\', \'"principal":"eve"\')')
    with pytest.raises(PolyrouteError, match="failed verification at event") as caught:
        await simulate(recorded, Proposal(), Window())
    assert "no simulation" in str(caught.value)


async def test_bad_proposal_files_are_config_errors_before_the_log_is_read(
    recorded: App, tmp_path: Path
) -> None:
    cases = {
        "prices": ("[prices.nowhere]\ninput_per_mtok = 1\noutput_per_mtok = 1\n", "no deployment or model"),
        "catalog": ('exclude_deployments = ["ghost"]\n', "unknown deployment(s): ghost"),
        "policy": ('[[rules]]\njurisdiction = "AE"\n', "data_classes"),
    }  # fmt: skip
    for field, (text, says) in cases.items():
        path = write(tmp_path, f"{field}.toml", text)
        with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
            await simulate(recorded, Proposal(**{field: path}), Window())


async def test_an_intent_without_outcome_and_an_older_receipt_are_replayed(recorded: App) -> None:
    from polyroute.audit import EventDraft
    from polyroute.types import Usage

    intent = (await recorded.audit.query(EventQuery(event_type="intent", limit=1)))[0]
    kept = intent.model_dump(exclude={"seq", "id", "time", "prev_hash", "hash"})
    await recorded.audit.append(EventDraft(**kept))  # the process died before the outcome
    old = EventDraft(
        event_type="completion", principal="dave", jurisdiction="SA", data_class="personal",
        deployment="sa-local", allowed=True, usage=Usage(input_tokens=1000, output_tokens=500),
        cost_usd=Decimal("0.003"), details={"strategy": "cheapest", "input_tokens": 1000},
    )  # fmt: skip
    await recorded.audit.append(old)  # no max_tokens, token counts or intent: an older log
    report = await simulate(recorded, Proposal(), Window())
    s = report.summary
    assert (s.calls, s.unchanged, s.outcome_unknown, s.assumed_facts) == (CALLS + 2, CALLS + 2, 1, 1)
    assert s.replay_differs_from_log == 0
    dave = [r for r in report.by_principal if r.key == "dave"][0]
    assert dave.spend_usd == Decimal("0.003") == dave.simulated_spend_usd  # 1000 × $1/M + 500 × $4/M


async def test_batches_of_any_size_give_the_same_report(
    recorded: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polyroute.simulation

    policy = write(tmp_path, "tight.toml", TIGHTENED_POLICY)
    whole = await simulate(recorded, Proposal(policy=policy), Window())
    monkeypatch.setattr(polyroute.simulation, "BATCH", 7)
    batched = await simulate(recorded, Proposal(policy=policy), Window())
    assert batched.model_dump_json() == whole.model_dump_json()


async def test_a_log_cut_short_behind_the_witness_gets_no_report(recorded: App) -> None:
    from polyroute.audit.witness import record_witness

    head = await recorded.audit.latest_head()
    assert head is not None
    record_witness(recorded.settings, head.seq + 5, "ab" * 32, head.key_id)  # it once reached further
    with pytest.raises(PolyrouteError, match="failed verification"):
        await simulate(recorded, Proposal(), Window())


def test_the_catalog_digest_is_the_same_in_every_process() -> None:
    """String hashing differs per process; a frozenset of capabilities once made the digest differ
    too, so `route explain` saw a changed catalog and reports differed between runs."""
    import os
    import subprocess
    import sys

    code = (
        "import tempfile; from pathlib import Path; from polyroute.app import App; "
        "from polyroute.settings import Settings; from polyroute.fingerprint import catalog_digest; "
        "print(catalog_digest(App(Settings(data_dir=Path(tempfile.mkdtemp())), principal='x').catalog))"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1 and next(iter(digests)).startswith("sha256:")
