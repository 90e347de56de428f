"""The audit MCP server: query the verifiable trail, check it, summarise spend, and write into it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from polyroute.audit.event import AuditEvent, EventType, GroupBy, UsageSummary, VerifyResult
from polyroute.audit.receipt import Receipt, UnknownOutcome
from polyroute.explanation import RouteExplanation
from polyroute.simreport import SimulationReport
from polyroute_servers.arguments import DeploymentId, OptionalDataClass, OptionalJurisdiction
from polyroute_servers.auth import AUDIT_READ, AUDIT_WRITE, GOVERNANCE_READ
from polyroute_servers.eventcheck import bounded_page, check_details, check_fields
from polyroute_servers.toolkit import Context, PolyrouteServer, app_of, caller, limits_of

if TYPE_CHECKING:
    from polyroute.app import App

INSTRUCTIONS = (
    "Audit: every routed call and refusal is in a hash-chained, signed log: a routed call's intent is "
    "written before any provider sees it, its outcome after. Call get_receipt with a "
    "receipt id from complete to show what happened; query_events to find events; summarize_usage for "
    "tokens and USD by provider, model, principal, deployment or day; verify_log to prove the log is "
    "intact. Call record_event to write your own action (e.g. 'sent report to client') into the same "
    "trail; it is recorded under your principal and cannot be edited afterwards. Call explain_route with a "
    "receipt id for the rules and facts that decided a call and where it would go today; simulate_change "
    "to see what a proposed policy, catalog or price sheet would have done to the logged calls."
)

Since = Annotated[datetime | None, Field(description="only events at or after this time (RFC 3339)")]
Until = Annotated[datetime | None, Field(description="only events before this time (RFC 3339)")]
Limit = Annotated[
    int, Field(strict=True, ge=1, le=1000, description="the most events to return, newest first")
]
UNKNOWN_SHOWN = 20


class EventList(BaseModel):
    events: list[AuditEvent]
    count: int
    outcome_unknown: list[UnknownOutcome] = Field(
        default_factory=list[UnknownOutcome],
        description="routed calls among these events whose intent is logged but whose outcome is not",
    )
    truncated: bool = Field(
        default=False, description="older matching events were left out to keep the answer's size bounded"
    )
    next_until: datetime | None = Field(
        default=None, description="when truncated: the oldest event's time (prefer `next_before_seq`)"
    )
    next_before_seq: int | None = Field(
        default=None,
        description="when more matching events may be older (truncated, or `limit` reached): pass as "
        "`before_seq` for the next page; events sharing a timestamp are neither skipped nor repeated",
    )


class UsageReport(BaseModel):
    group_by: str
    rows: list[UsageSummary]
    outcome_unknown: list[UnknownOutcome] = Field(
        default_factory=list[UnknownOutcome],
        description=f"the latest (at most {UNKNOWN_SHOWN}) routed calls whose outcome the log does not "
        "hold, with the deployments that may have been contacted",
    )


async def query_events(
    ctx: Context,
    event_type: Annotated[
        EventType | None, Field(description="e.g. intent, completion, failure, refusal, event")
    ] = None,
    principal: Annotated[str | None, Field(description="who made the call")] = None,
    deployment: Annotated[str | None, Field(description="catalog deployment id")] = None,
    allowed: Annotated[
        bool | None, Field(strict=True, description="only allowed (true) or refused (false) events")
    ] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    before_seq: Annotated[
        int | None, Field(strict=True, ge=1, description="only events older than this seq (the previous "
                          "answer's `next_before_seq`)")
    ] = None,
    outcome_unknown: Annotated[
        bool, Field(description="only routed calls whose intent is logged but whose outcome is not")
    ] = False,
) -> EventList:
    """Audit events matching every filter given, newest first; intents without an outcome are listed
    again in `outcome_unknown` with the deployments that may have been contacted."""
    from polyroute.audit.event import EventQuery
    from polyroute.audit.receipt import unknown_among

    query = EventQuery(event_type=event_type, principal=principal, deployment=deployment, allowed=allowed,
                       since=since, until=until, limit=limit, outcome_unknown=outcome_unknown,
                       before_seq=before_seq)  # fmt: skip
    store = app_of(ctx).audit
    found = list(await store.query(query))
    events, truncated = bounded_page(found, limits_of(ctx).max_answer_bytes)
    more = truncated or len(found) == limit
    return EventList(
        events=events, count=len(events), truncated=truncated,
        next_until=events[-1].time if truncated else None,
        next_before_seq=events[-1].seq if more and events else None,
        outcome_unknown=await unknown_among(store, events),
    )  # fmt: skip


async def verify_log(ctx: Context) -> VerifyResult:
    """Recompute the hash chain and check the signed heads; `first_bad_seq` is the first bad event.
    The log must still reach the head recorded at the last verification (the witness)."""
    from polyroute.audit.witness import verify_store

    app = app_of(ctx)
    return await verify_store(app.audit, app.settings)


async def summarize_usage(
    ctx: Context,
    group_by: Annotated[
        GroupBy, Field(description="how to group: provider, model, principal, day, deployment")
    ] = "deployment",
    principal: Annotated[str | None, Field(description="only this principal's calls")] = None,
    since: Since = None,
    until: Until = None,
) -> UsageReport:
    """Calls, tokens and USD spent, grouped, with the estimate error of the completions (estimated USD,
    actual − estimate, mean relative error; input tokens' mean relative error where recorded); calls
    whose outcome is unknown are counted apart."""
    from polyroute.audit.event import EventQuery
    from polyroute.audit.receipt import unknown_outcome

    store = app_of(ctx).audit
    query = EventQuery(principal=principal, since=since, until=until)
    rows = list(await store.summarize(group_by, query))
    unknown: list[UnknownOutcome] = []
    if any(row.outcome_unknown for row in rows):
        lost = EventQuery(
            principal=principal, since=since, until=until, outcome_unknown=True, limit=UNKNOWN_SHOWN
        )
        unknown = [unknown_outcome(e) for e in await store.query(lost)]
    return UsageReport(group_by=group_by, rows=rows, outcome_unknown=unknown)


async def get_receipt(
    ctx: Context,
    receipt_id: Annotated[str, Field(description="the receipt id a complete call returned")],
) -> Receipt:
    """A routed call's record: its outcome event (candidates, choice, attempts, cost, where it ran,
    hashes) with `status` and the `intent` written before any provider saw it; while the outcome is
    missing, the intent with status "outcome unknown" and the deployments that may have been contacted."""
    from polyroute.audit.receipt import find_receipt

    receipt = await find_receipt(app_of(ctx).audit, receipt_id)
    if receipt is None:
        raise ToolError(f"no audit event with receipt id {receipt_id!r}")
    return receipt


async def record_event(
    ctx: Context,
    action: Annotated[
        str, Field(min_length=1, max_length=200, description="what you did, e.g. 'emailed report'")
    ],
    details: Annotated[dict[str, Any] | None, Field(description="facts worth keeping (no secrets)")] = None,
    deployment: DeploymentId | None = None,
    jurisdiction: OptionalJurisdiction = None,
    data_class: OptionalDataClass = None,
    request_id: Annotated[
        str | None, Field(max_length=200, description="your own id for the action, to find it later")
    ] = None,
) -> AuditEvent:
    """Write your own action into the verifiable trail as an `event` under your principal."""
    from polyroute.audit.event import EventDraft

    app = app_of(ctx)
    check_details(details or {}, limits_of(ctx).max_detail_bytes)
    check_fields(app, deployment, jurisdiction, data_class)
    draft = EventDraft(
        event_type="event", principal=caller(app), tool="record_event", request_id=request_id,
        deployment=deployment, jurisdiction=jurisdiction, data_class=data_class,
        details={**(details or {}), "action": action},
    )  # fmt: skip
    return await app.audit.append(draft)


TomlText = Annotated[str | None, Field(max_length=1_000_000)]


async def explain_route(
    ctx: Context,
    receipt_id: Annotated[str, Field(description="the receipt id a complete call returned")],
) -> RouteExplanation:
    """Why a past call went where it did: its classification (and whether it was defaulted), the
    candidates with prices and scores, the rule that excluded each deployment — then, and under
    today's policy and catalog — and what changed since."""
    from polyroute.explanation import explain_route as explain

    return await explain(app_of(ctx), receipt_id)


async def simulate_change(
    ctx: Context,
    policy: Annotated[
        TomlText, Field(description="proposed policy file, as TOML text ([[rules]] tables)")
    ] = None,
    catalog: Annotated[
        TomlText, Field(description="proposed catalog, as TOML text ([[deployments]], exclude_providers…)")
    ] = None,
    prices: Annotated[
        TomlText, Field(description='proposed prices, as TOML text ([prices."<deployment or model>"] tables)')
    ] = None,
    since: Since = None,
    until: Until = None,
    principal: Annotated[str | None, Field(description="only this principal's calls")] = None,
    team: Annotated[str | None, Field(description="only calls by members of this team")] = None,
) -> SimulationReport:
    """Replay the logged routed calls and refusals under a proposed policy, catalog or prices: unchanged,
    rerouted (from → to), newly refused (with the rule), newly allowed, spend then vs simulated. Reads
    the verified log only: nothing is written and no provider is called."""
    import tempfile

    from polyroute.simulation import Proposal, Window, simulate

    if principal is not None and team is not None:
        raise ToolError("give principal or team, not both")
    window = Window(since=since, until=until, principal=principal, team=team)
    with tempfile.TemporaryDirectory(prefix="polyroute-simulate-") as tmp:
        given = {"policy": policy, "catalog": catalog, "prices": prices}
        files = {name: _written(Path(tmp, f"proposed-{name}.toml"), text) for name, text in given.items()}
        proposal = Proposal(policy=files["policy"], catalog=files["catalog"], prices=files["prices"])
        return await simulate(app_of(ctx), proposal, window)


def _written(path: Path, text: str | None) -> Path | None:
    """The proposal's TOML text as a file (the library reads files, as the CLI's --policy FILE does)."""
    if text is None:
        return None
    path.write_text(text, encoding="utf-8")
    return path


def register(server: PolyrouteServer, app: App) -> None:
    """Add the audit tools to `server`."""
    server.register(query_events, scope=AUDIT_READ, title="Query audit events")
    server.register(verify_log, scope=AUDIT_READ, title="Verify the audit log")
    server.register(summarize_usage, scope=AUDIT_READ, title="Summarize usage")
    server.register(get_receipt, scope=AUDIT_READ, title="Get a receipt")
    server.register(explain_route, scope=GOVERNANCE_READ, title="Explain a past route")
    server.register(
        simulate_change, scope=GOVERNANCE_READ, title="Simulate a policy, catalog or price change"
    )
    server.register(
        record_event, scope=AUDIT_WRITE, title="Record an event", read_only=False, idempotent=False
    )


def build(app: App) -> PolyrouteServer:
    server = PolyrouteServer(app, name="polyroute-audit", instructions=INSTRUCTIONS)
    register(server, app)
    return server
