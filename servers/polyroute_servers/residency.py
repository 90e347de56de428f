"""The residency MCP server: may this data go to that deployment, which may take it, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from polyroute.residency import PolicyExplanation, Verdict
from polyroute_servers.arguments import (
    DataClass,
    DeploymentId,
    Jurisdiction,
    OptionalDataClass,
    OptionalJurisdiction,
    Require,
)
from polyroute_servers.auth import GOVERNANCE_READ
from polyroute_servers.toolkit import Context, PolyrouteServer, app_of, note_query

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.catalog import Deployment

INSTRUCTIONS = (
    "Residency: before sending data to a model, call check_residency with the data's jurisdiction and "
    "class and the deployment you mean to use; call list_allowed_deployments to see every deployment that "
    "may take that data; call explain_policy to cite the rule and its legal source to a person. "
    "A denial is final: do not send the data elsewhere to get around it."
)


class AllowedDeployment(BaseModel):
    deployment: str
    provider: str
    model: str
    processing_locations: list[str]
    capabilities: list[str]


class DeniedDeployment(BaseModel):
    deployment: str
    reasons: list[str]


class AllowedDeployments(BaseModel):
    jurisdiction: str
    data_class: str
    policy_version: str
    allowed: list[AllowedDeployment]
    denied: list[DeniedDeployment] = Field(
        description="every other deployment with why it may not take the data"
    )


_VerdictKey = tuple[str, str, str, str]
_verdicts: dict[_VerdictKey, tuple[Deployment | None, Verdict]] = {}
VERDICTS_KEPT = 1024


def _verdict(app: App, jurisdiction: str, data_class: str, deployment_id: str) -> Verdict:
    """The policy's verdict, remembered per (policy version, jurisdiction, data class, deployment) as the
    router's Screener does: it is a pure function of those, judging costs ~30 µs (a third of this tool's
    own time), and an assistant asks the same few questions again and again. A different catalog entry
    under the same id (another App's catalog) is judged afresh; the memory is bounded."""
    entry = app.catalog.find(deployment_id)
    key = (app.policy.version, jurisdiction, data_class, deployment_id)
    known = _verdicts.get(key)
    if known is not None and known[0] is entry:
        return known[1]
    verdict = app.policy.check(jurisdiction, data_class, entry, deployment_id=deployment_id)
    if len(_verdicts) >= VERDICTS_KEPT:
        _verdicts.clear()
    _verdicts[key] = (entry, verdict)
    return verdict


async def check_residency(
    ctx: Context, jurisdiction: Jurisdiction, data_class: DataClass, deployment: DeploymentId
) -> Verdict:
    """May data of this class, under this jurisdiction, be sent to this deployment? Fails closed."""
    app = app_of(ctx)
    verdict = _verdict(app, jurisdiction, data_class, deployment)
    await note_query(
        app,
        event_type="residency_check",
        tool="check_residency",
        deployment=deployment,
        jurisdiction=jurisdiction,
        data_class=data_class,
        allowed=verdict.allowed,
        reasons=verdict.reasons,
    )
    return verdict


async def list_allowed_deployments(
    ctx: Context, jurisdiction: Jurisdiction, data_class: DataClass, require: Require | None = None
) -> AllowedDeployments:
    """Every deployment that may take this data (with the capabilities asked for); why others may not."""
    app = app_of(ctx)
    allowed: list[AllowedDeployment] = []
    denied: list[DeniedDeployment] = []
    needed = set(require or ())
    for entry in app.catalog:
        verdict = app.policy.check(jurisdiction, data_class, entry, deployment_id=entry.id)
        missing = sorted(needed - entry.capabilities)
        if verdict.allowed and not missing:
            allowed.append(_allowed(entry))
        else:
            reasons = verdict.reasons if not verdict.allowed else [f"lacks {', '.join(missing)}"]
            denied.append(DeniedDeployment(deployment=entry.id, reasons=reasons))
    await note_query(
        app,
        event_type="residency_check",
        tool="list_allowed_deployments",
        jurisdiction=jurisdiction,
        data_class=data_class,
        details={"allowed": [row.deployment for row in allowed], "denied": len(denied)},
    )
    return AllowedDeployments(
        jurisdiction=jurisdiction,
        data_class=data_class,
        policy_version=app.policy.version,
        allowed=allowed,
        denied=denied,
    )


async def explain_policy(
    ctx: Context, jurisdiction: OptionalJurisdiction = None, data_class: OptionalDataClass = None
) -> PolicyExplanation:
    """The rules in force (all, or one jurisdiction's / data class's), with their legal sources."""
    explanation = app_of(ctx).policy.explain(jurisdiction)
    if data_class is None:
        return explanation
    rules = [rule for rule in explanation.rules if rule.data_class == data_class]
    if not rules:
        known = ", ".join(explanation.data_classes)
        raise ToolError(f"no rule for data class {data_class!r}; data classes: {known}")
    return explanation.model_copy(update={"rules": rules})


def _allowed(entry: Deployment) -> AllowedDeployment:
    return AllowedDeployment(
        deployment=entry.id,
        provider=entry.provider,
        model=entry.model,
        processing_locations=list(entry.processing_locations),
        capabilities=sorted(entry.capabilities),
    )


def register(server: PolyrouteServer, app: App) -> None:
    """Add the residency tools and the active-policy resource to `server`."""
    server.register(check_residency, scope=GOVERNANCE_READ, title="Check residency")
    server.register(list_allowed_deployments, scope=GOVERNANCE_READ, title="List allowed deployments")
    server.register(explain_policy, scope=GOVERNANCE_READ, title="Explain policy")
    server.add_json_resource(
        "polyroute://policy",
        lambda: app.policy.explain().model_dump_json(indent=2),
        name="policy",
        description="the active residency policy: every rule, its allowed locations and sources",
    )


def build(app: App) -> PolyrouteServer:
    server = PolyrouteServer(app, name="polyroute-residency", instructions=INSTRUCTIONS)
    register(server, app)
    return server
