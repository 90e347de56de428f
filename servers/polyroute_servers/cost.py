"""The cost MCP server: what a request will cost on one deployment or across many, and budgets left."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from polyroute import pricing
from polyroute.budget import BudgetStatus
from polyroute.cost import Quote
from polyroute.quota import RateStatus
from polyroute.tokencount import api_count_refusal
from polyroute_servers.arguments import (
    DeploymentId,
    MaxTokens,
    Messages,
    OptionalDataClass,
    OptionalJurisdiction,
    Prompt,
    Require,
    System,
    completion_request,
)
from polyroute_servers.auth import GOVERNANCE_READ
from polyroute_servers.bounds import (
    admit,
    cannot_fit,
    check_prompt,
    import_off_loop,
    run_counting,
    sdks_missing,
)
from polyroute_servers.toolkit import (
    Context,
    PolyrouteServer,
    app_of,
    caller,
    caller_teams,
    limits_of,
    note_query,
)

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.catalog import Deployment

INSTRUCTIONS = (
    "Cost: call estimate_cost for the min / expected / max USD of a prompt on one deployment (counted "
    "offline; exact=true asks the provider's count-tokens API, which sends the prompt there, only where "
    "the residency policy for jurisdiction and data_class lets it go), "
    "compare_costs to rank deployments by expected cost (optionally only those residency allows for a "
    "jurisdiction and data class), and budget_status for what the caller may still spend. Amounts are USD."
)

InputTokens = Annotated[
    int | None, Field(strict=True, ge=0, description="a known input token count, instead of prompt/messages")
]
ExpectedOutput = Annotated[
    int | None, Field(strict=True, ge=0, description="expected output tokens; default: the library's guess")
]
Exact = Annotated[
    bool,
    Field(
        description="true: send the prompt to the provider's count-tokens API for an exact count (only "
        "where the residency policy lets it go); default false: counted offline, nothing leaves"
    ),
]
DeploymentIds = Annotated[
    list[str] | None, Field(description="deployment ids to compare; default: the whole catalog")
]


class Excluded(BaseModel):
    deployment: str
    reason: str


class CostComparison(BaseModel):
    quotes: list[Quote] = Field(description="cheapest expected cost first")
    excluded: list[Excluded]


class BudgetReport(BaseModel):
    principal: str
    teams: list[str]
    budgets: list[BudgetStatus] = Field(description="spend limits; empty when none applies to the caller")
    quotas: list[RateStatus] = Field(
        default_factory=list[RateStatus], description="requests-per-minute quotas of the caller and its teams"
    )


async def estimate_cost(
    ctx: Context,
    deployment: DeploymentId,
    prompt: Prompt = None,
    messages: Messages = None,
    system: System = None,
    max_tokens: MaxTokens = 1024,
    input_tokens: InputTokens = None,
    expected_output_tokens: ExpectedOutput = None,
    jurisdiction: OptionalJurisdiction = None,
    data_class: OptionalDataClass = None,
    exact: Exact = False,
) -> Quote:
    """Min / expected / max USD for one request on one deployment, with how the tokens were counted.
    Offline by default: no part of the prompt leaves. With exact=true, the provider's count-tokens API
    when a key is configured and the residency policy lets this data (jurisdiction, data_class; default:
    the config's, else public) go to that deployment, else offline with a note saying why. An offline
    estimate follows the input tokens past calls to the model really used (`calibrated_calls`)."""
    from polyroute import cost

    app = app_of(ctx)
    target = app.catalog.get(deployment)
    if input_tokens is not None:
        if prompt is not None or messages is not None:
            raise ToolError("give input_tokens or prompt/messages, not both")
        given = cost.TokenCount(tokens=input_tokens, method="exact", tokenizer="given", error_band=0.0)
        result = cost.quote(
            target, given, max_tokens=max_tokens, expected_output_tokens=expected_output_tokens
        )
    else:
        request = completion_request(prompt, messages, system=system, max_tokens=max_tokens)
        await admit(request, [target], limits_of(ctx))
        refusal = (
            api_count_refusal(app.policy, app.settings.defaults, target, jurisdiction, data_class)
            if exact
            else None
        )
        if exact and refusal is None and target.provider == "anthropic":  # the one count-tokens API used
            await import_off_loop(sdks_missing([target.provider]))
        result = await cost.estimate(
            target,
            request,
            app.settings,
            expected_output_tokens=expected_output_tokens,
            send_refusal=refusal,
            exact=exact,
            calibration=await app.seeded_calibration(),
        )
    await note_query(
        app,
        event_type="cost_estimate",
        tool="estimate_cost",
        deployment=deployment,
        estimated_cost_usd=result.expected_usd,
    )
    return result


async def compare_costs(
    ctx: Context,
    prompt: Prompt = None,
    messages: Messages = None,
    system: System = None,
    max_tokens: MaxTokens = 1024,
    expected_output_tokens: ExpectedOutput = None,
    deployments: DeploymentIds = None,
    jurisdiction: OptionalJurisdiction = None,
    data_class: OptionalDataClass = None,
    require: Require | None = None,
) -> CostComparison:
    """Quote the same request on many deployments, cheapest first; with jurisdiction and data_class,
    only deployments the residency policy allows."""
    from polyroute import cost

    if (jurisdiction is None) != (data_class is None):
        raise ToolError("give both jurisdiction and data_class, or neither")
    app = app_of(ctx)
    request = completion_request(prompt, messages, system=system, max_tokens=max_tokens)
    size = check_prompt(request, limits_of(ctx))
    targets = [app.catalog.get(d) for d in deployments] if deployments else list(app.catalog)
    excluded = [
        Excluded(deployment=target.id, reason=reason)
        for target in targets
        if (reason := _exclusion(app, target, jurisdiction, data_class, set(require or ())))
        or (reason := cannot_fit(size, target, max_tokens))
    ]
    left = {row.deployment for row in excluded}
    work = functools.partial(
        cost.compare,
        [target for target in targets if target.id not in left],
        request.text(),
        max_tokens=max_tokens,
        expected_output_tokens=expected_output_tokens,
        calibration=await app.seeded_calibration(),
    )
    quotes = await run_counting(work)  # counting and quoting a large prompt: off the loop
    cheapest = (
        {"deployment": quotes[0].deployment, "expected_usd": str(quotes[0].expected_usd)} if quotes else None
    )
    await note_query(
        app,
        event_type="cost_estimate",
        tool="compare_costs",
        jurisdiction=jurisdiction,
        data_class=data_class,
        details={"quoted": len(quotes), "excluded": len(excluded), "cheapest": cheapest},
    )
    return CostComparison(quotes=quotes, excluded=excluded)


async def budget_status(ctx: Context) -> BudgetReport:
    """The caller's limits (its own and its teams'): budgets with spent, reserved and remaining USD, and
    requests-per-minute quotas with the calls made in the last 60 s."""
    app = app_of(ctx)
    principal, carried = caller(app), caller_teams()
    statuses = app.router.budgets.status(principal, carried)  # the ledger the router reserves against
    quotas = await anyio.to_thread.run_sync(app.router.quotas.status, principal, carried)
    teams = app.settings.teams_of(principal, carried)
    return BudgetReport(principal=principal, teams=teams, budgets=statuses, quotas=quotas)


def register(server: PolyrouteServer, app: App) -> None:
    """Add the cost tools to `server`."""
    # open world: with exact=true the prompt may go to a provider's count-tokens API
    server.register(estimate_cost, scope=GOVERNANCE_READ, title="Estimate cost", open_world=True)
    server.register(compare_costs, scope=GOVERNANCE_READ, title="Compare costs")
    server.register(budget_status, scope=GOVERNANCE_READ, title="Budget status")


def _exclusion(
    app: App, target: Deployment, jurisdiction: str | None, data_class: str | None, needed: set[str]
) -> str | None:
    missing = sorted(needed - target.capabilities)
    if missing:
        return f"lacks {', '.join(missing)}"
    if jurisdiction is not None and data_class is not None:
        verdict = app.policy.check(jurisdiction, data_class, target, deployment_id=target.id)
        if not verdict.allowed:
            return "; ".join(verdict.reasons) or "residency policy denies it"
    return pricing.problem(target)  # an unpriced deployment is set aside, not a failed comparison


def build(app: App) -> PolyrouteServer:
    server = PolyrouteServer(app, name="polyroute-cost", instructions=INSTRUCTIONS)
    register(server, app)
    return server
