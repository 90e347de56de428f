"""The router MCP server: which deployments exist, where a request would go, and the routed call itself."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from polyroute.catalog import Deployment
from polyroute.routing import RoutedCompletion, RoutePlan, RouteRequest
from polyroute.types import CompletionRequest
from polyroute_servers.arguments import (
    MaxTokens,
    Messages,
    ModelPin,
    OptionalDataClass,
    OptionalJurisdiction,
    Prompt,
    Require,
    ResponseFormat,
    Strategy,
    System,
    Temperature,
    completion_request,
)
from polyroute_servers.auth import ROUTE
from polyroute_servers.bounds import admit, import_for_route
from polyroute_servers.classification import Classification, answered, ask_classification, refusal
from polyroute_servers.tasks import TasksExtension
from polyroute_servers.toolkit import (
    Context,
    PolyrouteServer,
    app_of,
    caller,
    caller_teams,
    limits_of,
    with_heartbeat,
)

if TYPE_CHECKING:
    from polyroute.app import App

INSTRUCTIONS = (
    "Router: call list_models to see deployments (provider, model, where they process data, capabilities); "
    "route_request for a dry run that shows the ranked plan and why each other deployment was excluded; "
    "complete to send a prompt to the best compliant deployment and get the text with a receipt id. "
    "Always pass jurisdiction and data_class when the prompt holds anything but public data: the router "
    "never sends data where the residency policy forbids, and every call is audited."
)
HEARTBEAT_SECONDS = 2.0  # progress while a provider call is outstanding


class ModelInfo(BaseModel):
    deployment: str
    provider: str
    model: str
    processing_locations: list[str]
    storage_locations: list[str]
    capabilities: list[str]
    context_window: int
    max_output_tokens: int
    accepts_temperature: bool = Field(
        default=True, description="false: the model refuses sampling parameters (a temperature other than 1)"
    )


class ModelList(BaseModel):
    deployments: list[ModelInfo]
    filtered_by: str | None = Field(default=None, description="the residency filter applied, if any")


async def list_models(
    ctx: Context,
    jurisdiction: OptionalJurisdiction = None,
    data_class: OptionalDataClass = None,
    require: Require | None = None,
) -> ModelList:
    """Deployments with their processing locations and capabilities; with jurisdiction and data_class,
    only those the residency policy allows."""
    if (jurisdiction is None) != (data_class is None):
        raise ToolError("give both jurisdiction and data_class, or neither")
    app = app_of(ctx)
    if jurisdiction and data_class and app.policy.rule_for(jurisdiction, data_class) is None:
        raise ToolError(
            f"the residency policy has no rule for {jurisdiction!r} {data_class!r} data, so no deployment "
            f"may take it; jurisdictions: {', '.join(app.policy.jurisdictions)}; see explain_policy"
        )
    needed = set(require or ())
    rows: list[ModelInfo] = []
    for entry in app.catalog:
        if needed - entry.capabilities:
            continue
        if jurisdiction and data_class and not _allows(app, jurisdiction, data_class, entry):
            continue
        rows.append(_info(entry))
    return ModelList(deployments=rows, filtered_by=f"{jurisdiction}/{data_class}" if jurisdiction else None)


async def route_request(
    ctx: Context,
    prompt: Prompt = None,
    messages: Messages = None,
    system: System = None,
    max_tokens: MaxTokens = 1024,
    model: ModelPin = None,
    jurisdiction: OptionalJurisdiction = None,
    data_class: OptionalDataClass = None,
    strategy: Strategy = None,
    require: Require | None = None,
    response_format: ResponseFormat = "text",
    temperature: Temperature = None,
) -> RoutePlan:
    """Dry run, sends nothing: the ranked compliant candidates, and why each other one was excluded."""
    request = completion_request(
        prompt, messages, system=system, max_tokens=max_tokens,
        response_format=response_format, temperature=temperature,
    )  # fmt: skip
    app = app_of(ctx)
    await admit(request, app.router.pool(model), limits_of(ctx))
    return app.router.plan(_route(app, request, model, jurisdiction, data_class, strategy, require))


async def complete(
    ctx: Context,
    prompt: Prompt = None,
    messages: Messages = None,
    system: System = None,
    max_tokens: MaxTokens = 1024,
    model: ModelPin = None,
    jurisdiction: OptionalJurisdiction = None,
    data_class: OptionalDataClass = None,
    strategy: Strategy = None,
    require: Require | None = None,
    response_format: ResponseFormat = "text",
    temperature: Temperature = None,
    classified: Annotated[ElicitationResult[Classification], Resolve(ask_classification)] = None,  # type: ignore[assignment]
) -> RoutedCompletion:
    """Send the request to the best deployment the policy allows (falling back only within the policy);
    returns the text, where it ran, usage, cost and the audit receipt id."""
    request = completion_request(
        prompt, messages, system=system, max_tokens=max_tokens,
        response_format=response_format, temperature=temperature,
    )  # fmt: skip
    app = app_of(ctx)
    pool = app.router.pool(model)
    await admit(request, pool, limits_of(ctx))
    await ctx.report_progress(0, 2, "routing to a compliant deployment")
    route = _route(app, request, model, jurisdiction, data_class, strategy, require)
    if classified is not None and classified.action != "accept":  # the user declined to classify
        raise await refusal(app, route, classified)
    user = answered(classified) if classified is not None else None
    if user is not None:
        route = _route(app, request, model, user.jurisdiction, user.data_class, strategy, require)
    await import_for_route(app.router, pool, route)
    result = await with_heartbeat(ctx, app.router.complete(route), total=2, every=HEARTBEAT_SECONDS)
    await ctx.report_progress(2, 2, f"answered by {result.deployment}")
    return result


def register(server: PolyrouteServer, app: App) -> None:
    """Add the router tools and the catalog resource to `server`."""
    server.register(list_models, scope=ROUTE, title="List models")
    server.register(route_request, scope=ROUTE, title="Plan a route (dry run)")
    server.register(complete, scope=ROUTE, title="Complete (routed call)", read_only=False, open_world=True)
    server.add_json_resource(
        "polyroute://catalog",
        lambda: _catalog_json(app),
        name="catalog",
        description="every deployment: provider, model, processing locations, capabilities, sources",
    )


def _route(
    app: App,
    request: CompletionRequest,
    model: str | None,
    jurisdiction: str | None,
    data_class: str | None,
    strategy: str | None,
    require: Sequence[str] | None,
) -> RouteRequest:
    return RouteRequest.model_validate({
        "request": request, "model": model, "jurisdiction": jurisdiction, "data_class": data_class,
        "strategy": strategy, "require": list(require or ()), "principal": caller(app),
        "teams": caller_teams(),
    })  # fmt: skip


def _allows(app: App, jurisdiction: str, data_class: str, entry: Deployment) -> bool:
    return app.policy.check(jurisdiction, data_class, entry, deployment_id=entry.id).allowed


def _info(entry: Deployment) -> ModelInfo:
    return ModelInfo(
        deployment=entry.id,
        provider=entry.provider,
        model=entry.model,
        processing_locations=list(entry.processing_locations),
        storage_locations=list(entry.storage_locations),
        capabilities=sorted(entry.capabilities),
        context_window=entry.context_window,
        max_output_tokens=entry.max_output_tokens,
        accepts_temperature=entry.accepts_temperature,
    )


def _catalog_json(app: App) -> str:
    rows = [entry.model_dump(mode="json") for entry in app.catalog]
    return json.dumps({"deployments": rows}, indent=2, ensure_ascii=False)


def build(app: App) -> PolyrouteServer:
    server = PolyrouteServer(
        app, name="polyroute-router", instructions=INSTRUCTIONS, extensions=[TasksExtension(app)]
    )
    register(server, app)
    return server
