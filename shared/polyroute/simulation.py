"""What-if governance: replay the log's routed calls under a proposed policy, catalog or prices.

Each routed call of the period — its outcome (`completion`, `failure`, `refusal`; older logs have no
intents) or an intent whose outcome never came — is decided twice from the facts its receipt recorded
(`pastcall`): under today's configuration (the baseline) and under the proposal (`scenario`). Comparing
the two, not the log, isolates what the proposal changes: health, fallbacks and budgets at the time,
or a policy changed since, would otherwise read as reroutes (they are counted apart, as
`replay_differs_from_log`). Spend: the logged cost of each call against the same token usage priced on
the proposed route; a newly allowed call (no usage was logged) at its expected cost.

The log is verified first (a tampered log gets no report), then streamed through the store's export
iterator up to the verified head: memory holds only intents still waiting for their outcome. Nothing
is written and no provider is called. docs/simulation.md has a worked example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from polyroute.audit.event import VerifyResult, format_time
from polyroute.cost import default_expected_output
from polyroute.errors import ConfigError, PolyrouteError
from polyroute.pastcall import ROUTED_OUTCOMES, PastCall, past_call, slim
from polyroute.ranking import Strategy
from polyroute.scenario import Decision, Scenario, proposed_catalog, proposed_policy, same_screen, with_prices
from polyroute.simreport import ZERO, Builder, Inputs, LogRange, Outcome, SimulationReport

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.planning import PlanFacts
    from polyroute.settings import Settings

NOT_REPLAYED = [
    "health, circuit breakers, per-minute capacity and budgets: they belonged to the moment of each call, "
    "so both sides are decided without them",
    "latency: the catalog's prior stands in for the latencies observed at the time",
    "token counts: a deployment whose tokenizer family the receipt did not count gets the count of the "
    "deployment planned first",
    "usage moved to another deployment is priced with the same token counts",
]
BATCH = 2000  # export lines replayed per hop to a worker thread
_TYPE_MARK = '"event_type":"'
_ID_MARK = ',"id":"'  # canonical JSON: `id` is the key right after `event_type`


@dataclass(frozen=True)
class Proposal:
    policy: Path | None = None
    catalog: Path | None = None
    prices: Path | None = None


@dataclass(frozen=True)
class Window:
    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    team: str | None = None


def scenarios(app: App, proposal: Proposal) -> tuple[Scenario, Scenario]:
    """Today's configuration and the proposed one (ConfigError for a bad file, before the log is read)."""
    settings = app.settings
    policy = proposed_policy(settings, proposal.policy) or app.policy
    catalog = with_prices(proposed_catalog(settings, proposal.catalog, app.catalog), proposal.prices)
    return Scenario(settings, app.policy, app.catalog), Scenario(settings, policy, catalog)


async def verified(app: App) -> VerifyResult:
    """The log's verification (held to the witness, which is read but not moved); raises if it fails."""
    from polyroute.audit.chain import Anchor
    from polyroute.audit.witness import read_witness, witness_path

    try:
        witness = read_witness(app.settings)
    except ConfigError as error:  # a damaged witness: the log cannot be shown to be whole
        raise PolyrouteError(f"the audit log cannot be verified: {error}; no simulation reported") from None
    held = f"the witness {witness_path(app.settings)}"
    anchors = [Anchor(witness.seq, witness.hash, held)] if witness else []
    result = await app.audit.verify(anchors=anchors)
    if not result.ok:
        where = f" at event {result.first_bad_seq}" if result.first_bad_seq is not None else ""
        raise PolyrouteError(
            f"the audit log failed verification{where}: {result.reason or 'unknown reason'} — no simulation "
            "is reported over a log that cannot be trusted (run `polyroute audit verify`)"
        )
    return result


async def simulate(app: App, proposal: Proposal, window: Window) -> SimulationReport:
    """Verify the log, then replay the window's routed calls under today's and the proposed configuration."""
    baseline, proposed = scenarios(app, proposal)
    result = await verified(app)
    head = result.head_seq or 0
    replay = Replay(app.settings, baseline, proposed, window)
    batch: list[str] = []
    async for line in app.audit.export_lines():
        batch.append(line)
        if len(batch) >= BATCH:
            more = await anyio.to_thread.run_sync(replay.feed_all, batch, head)
            batch = []
            if not more:
                break
    await anyio.to_thread.run_sync(replay.feed_all, batch, head)
    replay.finish(head)
    log = LogRange(
        since=_stamp(window.since), until=_stamp(window.until), principal=window.principal, team=window.team,
        head_seq=result.head_seq, head_hash=result.head_hash, events_read=replay.events,
        policy_versions=sorted(replay.versions),
    )  # fmt: skip
    return replay.report(_inputs(baseline, None), _inputs(proposed, proposal), log)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment if moment.tzinfo else moment.astimezone())


def _inputs(scenario: Scenario, proposal: Proposal | None) -> Inputs:
    def name(path: Path | None) -> str | None:
        return None if path is None else str(path)

    given = proposal or Proposal()
    return Inputs(
        policy_version=scenario.policy.version, catalog_digest=scenario.catalog_digest,
        prices_digest=scenario.prices_digest, policy_file=name(given.policy),
        catalog_file=name(given.catalog), prices_file=name(given.prices),
    )  # fmt: skip


class Replay:
    """Feeds export lines through both scenarios into a report `Builder`."""

    def __init__(self, settings: Settings, baseline: Scenario, proposed: Scenario, window: Window) -> None:
        self.baseline, self.proposed, self.window = baseline, proposed, window
        self.strategy: Strategy = settings.defaults.strategy
        self.teams_of = settings.teams_of
        self._teams: dict[str, list[str]] = {}
        self.since = _stamp(window.since)
        self.until = _stamp(window.until)
        self.pending: dict[str, str] = {}  # intent id → its export line, until its outcome is read
        self.builder = Builder()
        self.versions: set[str] = set()
        self.events = 0
        self.unknown = self.drift = self.assumed = 0
        self.baseline_spend = ZERO
        self._same: dict[tuple[str, str, tuple[str, ...], str | None], bool] = {}
        baseline.prices.refresh()
        proposed.prices.refresh()

    def feed_all(self, lines: list[str], head: int) -> bool:
        """A batch of export lines (in a worker thread: a server's event loop stays free meanwhile)."""
        return all(self.feed(line, head) for line in lines)

    def feed(self, line: str, head: int) -> bool:
        """One export line; False once past the verified head."""
        if not line.startswith('{"type":"event"'):
            return True  # a signed head
        self.events += 1
        at = line.rfind(_TYPE_MARK) + len(_TYPE_MARK)  # the top-level key: `details` sorts before it
        end = line.index('"', at)
        kind = line[at:end]
        if kind == "intent" and line.startswith(_ID_MARK, end + 1):  # kept until its outcome is read
            start = end + 1 + len(_ID_MARK)
            self.pending[line[start : line.index('"', start)]] = line
            return True
        if kind not in ROUTED_OUTCOMES:
            return True
        try:
            event: dict[str, Any] = json.loads(slim(line))["event"]
        except ValueError:
            event = json.loads(line)["event"]
        if event["seq"] > head:
            return False
        if event.get("event_type") not in ROUTED_OUTCOMES:
            return True
        intent = event.get("intent_id")
        if intent is not None:
            self.pending.pop(intent, None)
        if self._selected(event):
            self.replay(past_call(event, self.strategy))
        return True

    def finish(self, head: int) -> None:
        """Intents that never got an outcome (in seq order): replayed too, with no spend known."""
        for line in self.pending.values():
            event: dict[str, Any] = json.loads(line)["event"]
            if event.get("event_type") == "intent" and event["seq"] <= head and self._selected(event):
                self.unknown += 1
                self.replay(past_call(event, self.strategy))
        self.pending.clear()

    def _selected(self, event: dict[str, Any]) -> bool:
        window, time = self.window, event.get("time", "")
        if (self.since is not None and time < self.since) or (self.until is not None and time >= self.until):
            return False
        if window.principal is not None and event.get("principal") != window.principal:
            return False
        return window.team is None or window.team in self._teams_of(str(event.get("principal")))

    def _teams_of(self, principal: str) -> list[str]:
        found = self._teams.get(principal)
        if found is None:
            found = self._teams[principal] = self.teams_of(principal)
        return found

    def decide(self, facts: PlanFacts) -> tuple[Decision, Decision]:
        """Both sides' decisions; where the proposal leaves a classification's screened deployments (and
        their prices) as they are, its decision is the baseline's, so it is not computed twice."""
        before = self.baseline.decide(facts)
        key = (facts.jurisdiction, facts.data_class, facts.required, facts.pinned)
        same = self._same.get(key)
        if same is None:
            same = self._same[key] = same_screen(self.baseline.screen(facts), self.proposed.screen(facts))
        return before, before if same else self.proposed.decide(facts)

    def replay(self, call: PastCall) -> None:
        before, after = self.decide(call.facts)
        outcome = _outcome(before, after)
        spend = call.cost_usd if call.status == "completed" and call.cost_usd is not None else ZERO
        baseline_cost = _cost(self.baseline, before.deployment, call)
        self.baseline_spend += baseline_cost
        # the same decision object: same screen, so the same deployment at the same prices
        simulated = baseline_cost if after is before else _cost(self.proposed, after.deployment, call)
        if (before.deployment is None) != (call.deployment is None) or (
            call.status == "completed" and before.deployment != call.deployment
        ):
            self.drift += 1
        self.assumed += call.assumed
        if call.policy_version:
            self.versions.add(call.policy_version)
        why = after
        if outcome == "newly_allowed":  # the rule that refused it before
            why = before._replace(reason=f"refused today: {before.reason}")
        groups = (
            (call.facts.jurisdiction, call.facts.data_class),
            call.principal,
            self._teams_of(call.principal),
        )
        self.builder.add(
            groups, outcome, spend, simulated, (before.deployment, after.deployment, why.rule, why.reason)
        )

    def report(self, baseline: Inputs, proposed: Inputs, log: LogRange) -> SimulationReport:
        summary = self.builder.summary(
            baseline_spend_usd=self.baseline_spend, outcome_unknown=self.unknown,
            replay_differs_from_log=self.drift, assumed_facts=self.assumed,
        )  # fmt: skip
        classes, principals, teams = self.builder.rows()
        by_count, by_cost, changes = self.builder.ranked_changes()
        return SimulationReport(
            summary=summary, baseline=baseline, proposed=proposed, log=log, by_classification=classes,
            by_principal=principals, by_team=teams, largest_by_count=by_count, largest_by_cost=by_cost,
            changes=changes, not_replayed=list(NOT_REPLAYED),
        )  # fmt: skip


def _outcome(before: Decision, after: Decision) -> Outcome:
    if before.deployment == after.deployment:
        return "unchanged"
    if before.deployment is None:
        return "newly_allowed"
    return "newly_refused" if after.deployment is None else "rerouted"


def _cost(scenario: Scenario, deployment_id: str | None, call: PastCall) -> Decimal:
    """The call's logged usage on `deployment_id` at the scenario's prices; a call refused in the log
    at its expected cost there; nothing for a call with no usage (failed, outcome unknown) or none to go."""
    if deployment_id is None or call.status in ("failed", "outcome unknown"):
        return ZERO
    deployment = scenario.catalog.get(deployment_id)
    rates = scenario.prices.rates(deployment)
    if call.usage is not None:
        return rates.cost(*call.usage)
    if call.status != "refused":
        return ZERO
    tokens = call.facts.tokens[_key(scenario, deployment_id)]
    output = default_expected_output(call.facts.max_tokens)
    return rates.input.at(tokens) * tokens + rates.output.at(tokens) * output


def _key(scenario: Scenario, deployment_id: str) -> str:
    from polyroute.tokencount import counting_key

    return counting_key(scenario.catalog.get(deployment_id))
