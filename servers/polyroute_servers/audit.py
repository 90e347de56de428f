"""The audit MCP server: query the verifiable trail, check it, summarise spend, and write into it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from polyroute.audit.event import AuditEvent, EventType, GroupBy, UsageSummary, VerifyResult
from polyroute_servers.arguments import DeploymentId, OptionalDataClass, OptionalJurisdiction
from polyroute_servers.auth import AUDIT_READ, AUDIT_WRITE
from polyroute_servers.eventcheck import bounded_page, check_details, check_fields
from polyroute_servers.toolkit import Context, PolyrouteServer, app_of, caller, limits_of

if TYPE_CHECKING:
    from polyroute.app import App

INSTRUCTIONS = (
    "Audit: every routed call and refusal is in a hash-chained, signed log. Call get_receipt with a "
    "receipt id from complete to show what happened; query_events to find events; summarize_usage for "
    "tokens and USD by provider, model, principal, deployment or day; verify_log to prove the log is "
    "intact. Call record_event to write your own action (e.g. 'sent report to client') into the same "
    "trail; it is recorded under your principal and cannot be edited afterwards."
)

Since = Annotated[datetime | None, Field(description="only events at or after this time (RFC 3339)")]
Until = Annotated[datetime | None, Field(description="only events before this time (RFC 3339)")]
Limit = Annotated[
    int, Field(strict=True, ge=1, le=1000, description="the most events to return, newest first")
]


class EventList(BaseModel):
    events: list[AuditEvent]
    count: int
    truncated: bool = Field(
        default=False, description="older matching events were left out to keep the answer's size bounded"
    )
    next_until: datetime | None = Field(
        default=None, description="when truncated: pass as `until` for the next (older) page"
    )


class UsageReport(BaseModel):
    group_by: str
    rows: list[UsageSummary]


async def query_events(
    ctx: Context,
    event_type: Annotated[EventType | None, Field(description="e.g. completion, refusal, external")] = None,
    principal: Annotated[str | None, Field(description="who made the call")] = None,
    deployment: Annotated[str | None, Field(description="catalog deployment id")] = None,
    allowed: Annotated[
        bool | None, Field(strict=True, description="only allowed (true) or refused (false) events")
    ] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
) -> EventList:
    """Audit events matching every filter given, newest first."""
    from polyroute.audit.event import EventQuery

    query = EventQuery(event_type=event_type, principal=principal, deployment=deployment, allowed=allowed,
                       since=since, until=until, limit=limit)  # fmt: skip
    found = list(await app_of(ctx).audit.query(query))
    events, truncated = bounded_page(found, limits_of(ctx).max_answer_bytes)
    next_until = events[-1].time if truncated else None
    return EventList(events=events, count=len(events), truncated=truncated, next_until=next_until)


async def verify_log(ctx: Context) -> VerifyResult:
    """Recompute the hash chain and check the signed heads; `first_bad_seq` is the first bad event."""
    return await app_of(ctx).audit.verify()


async def summarize_usage(
    ctx: Context,
    group_by: Annotated[
        GroupBy, Field(description="how to group: provider, model, principal, day, deployment")
    ] = "deployment",
    principal: Annotated[str | None, Field(description="only this principal's calls")] = None,
    since: Since = None,
    until: Until = None,
) -> UsageReport:
    """Calls, tokens and USD spent, grouped."""
    from polyroute.audit.event import EventQuery

    query = EventQuery(principal=principal, since=since, until=until)
    rows = list(await app_of(ctx).audit.summarize(group_by, query))
    return UsageReport(group_by=group_by, rows=rows)


async def get_receipt(
    ctx: Context,
    receipt_id: Annotated[str, Field(description="the receipt id a complete call returned")],
) -> AuditEvent:
    """One audit event (the receipt of a routed call): candidates, choice, cost, where it ran, hashes."""
    event = await app_of(ctx).audit.get(receipt_id)
    if event is None:
        raise ToolError(f"no audit event with receipt id {receipt_id!r}")
    return event


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
    """Write your own action into the verifiable trail as an 'external' event under your principal."""
    from polyroute.audit.event import EventDraft

    app = app_of(ctx)
    check_details(details or {}, limits_of(ctx).max_detail_bytes)
    check_fields(app, deployment, jurisdiction, data_class)
    draft = EventDraft(
        event_type="external", principal=caller(app), tool="record_event", request_id=request_id,
        deployment=deployment, jurisdiction=jurisdiction, data_class=data_class,
        details={**(details or {}), "action": action},
    )  # fmt: skip
    return await app.audit.append(draft)


def register(server: PolyrouteServer, app: App) -> None:
    """Add the audit tools to `server`."""
    server.register(query_events, scope=AUDIT_READ, title="Query audit events")
    server.register(verify_log, scope=AUDIT_READ, title="Verify the audit log")
    server.register(summarize_usage, scope=AUDIT_READ, title="Summarize usage")
    server.register(get_receipt, scope=AUDIT_READ, title="Get a receipt")
    server.register(
        record_event, scope=AUDIT_WRITE, title="Record an event", read_only=False, idempotent=False
    )


def build(app: App) -> PolyrouteServer:
    server = PolyrouteServer(app, name="polyroute-audit", instructions=INSTRUCTIONS)
    register(server, app)
    return server
