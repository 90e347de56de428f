"""What every Polyroute MCP server shares: scoped tool registration, error translation, the caller.

The server modules stay declarations: each tool says its scope and whether it writes; this module
turns library errors and argument mistakes into one-line `isError` messages a person can act on,
refuses calls the HTTP token's scopes do not cover, and tells tools who is calling (the token's
principal over HTTP, the local user over stdio) without mutating the shared App.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.extension import Extension
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedResourceError
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from mcp.types import Resource as MCPResource
from mcp.types import Tool as MCPTool
from mcp_types import INVALID_PARAMS
from pydantic import ValidationError

from polyroute.errors import NoRoute, PolyrouteError, QuotaExceeded
from polyroute_servers.arguments import describe_validation
from polyroute_servers.auth import ALL, GOVERNANCE_READ, ROUTE
from polyroute_servers.bounds import Limits
from polyroute_servers.outschema import compact_nullable

if TYPE_CHECKING:
    from polyroute.app import App

log = logging.getLogger("polyroute.servers")
T = TypeVar("T")
RESOURCE_SCOPES = (ROUTE, GOVERNANCE_READ)  # the catalog and the policy: what exists, what may go where
# The server answering the current tool call, set by `PolyrouteServer.call_tool`: `ctx.mcp_server` is a
# pydantic private attribute whose lookup cost ~10 µs a call, a tenth of our layer's whole overhead.
_answering: ContextVar[PolyrouteServer | None] = ContextVar("polyroute_answering", default=None)

__all__ = [
    "Context",
    "PolyrouteServer",
    "app_of",
    "limits_of",
    "caller",
    "caller_teams",
    "describe_validation",
    "note_query",
    "with_heartbeat",
]


def caller(app: App) -> str:
    """Who is calling: the HTTP token's principal when there is one, else the App's (local) principal."""
    token = get_access_token()
    return token.client_id if token is not None else app.principal


def caller_teams() -> list[str]:
    """The teams the caller's identity carries (an OAuth token's team claim; none for other callers).
    Budgets and quotas count them beside `[teams]` per call (`Settings.limit_scopes`); nothing is kept."""
    token = get_access_token()
    teams: object = (token.claims or {}).get("teams") if token is not None else None
    return [team for team in teams if isinstance(team, str)] if isinstance(teams, list) else []  # pyright: ignore[reportUnknownVariableType]


def _server_of(ctx: Context) -> object:
    """The server answering this call: the one `call_tool` noted, else (called another way) the context's."""
    server = _answering.get()
    return server if server is not None else ctx.mcp_server


def app_of(ctx: Context) -> App:
    """The App of the server answering this call (tools are module functions; each server holds its App)."""
    server = _server_of(ctx)
    if not isinstance(server, PolyrouteServer):
        raise TypeError(f"a Polyroute tool was served by {type(server).__name__}, not a PolyrouteServer")
    return server.app


def limits_of(ctx: Context) -> Limits:
    """The per-request caps of the server answering this call."""
    server = _server_of(ctx)
    return server.limits if isinstance(server, PolyrouteServer) else Limits()


def _granted_scopes() -> list[str] | None:
    """The HTTP token's scopes, or None when no token applies (stdio, in-memory, open loopback HTTP)."""
    token = get_access_token()
    return None if token is None else list(token.scopes)


def _may_read_resources() -> bool:
    granted = _granted_scopes()
    return granted is None or any(scope in granted for scope in (ALL, *RESOURCE_SCOPES))


def _explain(tool: str, error: BaseException) -> str:
    """The message a person sees for a failed call: what was wrong, never a stack trace or a secret."""
    cause = error.__cause__ if isinstance(error, ToolError) and error.__cause__ is not None else error
    if isinstance(cause, ValidationError):
        return f"invalid arguments for {tool}: {describe_validation(cause)}"
    if isinstance(cause, NoRoute) and cause.exclusions:
        return _no_route(cause)
    if isinstance(cause, PolyrouteError):
        return " ".join(str(cause).split())
    if isinstance(cause, NotImplementedError):
        return f"{tool} is not available in this build of Polyroute yet"
    if isinstance(cause, ToolError):  # a tool's own refusal, or the SDK's words (e.g. unknown tool)
        return " ".join(str(cause).split())
    log.error("tool %s failed unexpectedly", tool, exc_info=cause)
    return f"{tool} failed with an internal error ({type(cause).__name__}); the server log has details"


def _no_route(error: NoRoute) -> str:
    """NoRoute in a line an assistant can read: how many were excluded at each stage, a few reasons beyond
    residency (those are the fixable ones), and where to see all of them."""
    stages: dict[str, int] = {}
    others: list[str] = []
    for exclusion in error.exclusions:
        stage = str(getattr(exclusion, "stage", "excluded"))
        stages[stage] = stages.get(stage, 0) + 1
        if stage != "residency" and len(others) < 3:
            others.append(f"{getattr(exclusion, 'deployment', '?')}: {getattr(exclusion, 'reason', '')}")
    head = str(error).split(" — ", 1)[0]
    counts = ", ".join(f"{stage} {count}" for stage, count in sorted(stages.items(), key=lambda kv: -kv[1]))
    detail = f"; e.g. {'; '.join(others)}" if others else ""
    return " ".join(f"{head} — excluded: {counts}{detail}. route_request shows every reason.".split())


class PolyrouteServer(MCPServer[Any]):
    """An MCPServer whose tools carry a scope and whose failures read as one clear line."""

    def __init__(
        self,
        app: App,
        *,
        name: str,
        instructions: str,
        limits: Limits | None = None,
        extensions: Sequence[Extension] = (),
    ) -> None:
        super().__init__(
            name=name,
            instructions=instructions,
            version=_version(),
            log_level="WARNING",
            extensions=extensions,
        )
        self.app = app
        self.limits = limits or Limits()
        self.scopes: dict[str, str] = {}
        self.resource_uris: set[str] = set()
        self._argument_names: dict[str, frozenset[str]] = {}

    def register(
        self,
        fn: Callable[..., Any],
        *,
        scope: str,
        title: str,
        read_only: bool = True,
        open_world: bool = False,
        idempotent: bool | None = None,
    ) -> None:
        """Add one tool with its annotations; `scope` is what an HTTP token needs to call it."""
        annotations = ToolAnnotations(
            title=title,
            read_only_hint=read_only,
            destructive_hint=None if read_only else False,
            idempotent_hint=read_only if idempotent is None else idempotent,
            open_world_hint=open_world,
        )
        self.add_tool(fn, title=title, annotations=annotations, structured_output=True)
        self.scopes[fn.__name__] = scope
        tool = self._tool_manager.get_tool(fn.__name__)
        if tool is not None:  # the SDK reads the published schema live; its own check stays on the model
            tool.fn_metadata.output_schema = compact_nullable(tool.fn_metadata.output_schema)

    def add_json_resource(self, uri: str, fn: Callable[[], str], *, name: str, description: str) -> None:
        """A read-only JSON resource, added once even when several composed servers offer it."""
        if uri in self.resource_uris:
            return
        self.resource_uris.add(uri)
        self.resource(uri, name=name, description=description, mime_type="application/json")(fn)

    async def list_tools(self) -> list[MCPTool]:
        """Only the tools the HTTP token's scopes cover: an assistant is not offered what it may not call."""
        tools = await super().list_tools()
        granted = _granted_scopes()
        if granted is None or ALL in granted:
            return tools
        return [tool for tool in tools if self.scopes.get(tool.name) in granted]

    async def list_resources(self) -> list[MCPResource]:
        """The catalog and policy resources only for tokens that may ask routing or governance questions."""
        return await super().list_resources() if _may_read_resources() else []

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        if not _may_read_resources():
            have = ", ".join(_granted_scopes() or ()) or "none"
            raise ResourceError(
                f"access denied: resources need the 'route' or 'governance:read' scope; this token has {have}"
            )
        try:
            return await super().read_resource(uri, context)
        except UnexpectedResourceError as error:  # e.g. a config error: the person needs its sentence
            if isinstance(error.__cause__, PolyrouteError):
                raise ResourceError(str(error.__cause__)) from None
            raise

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
    ) -> Any:
        """An unknown prompt is the caller's mistake (invalid params), not a -32603 and a stack trace."""
        if name not in {prompt.name for prompt in await self.list_prompts()}:
            raise MCPError(
                code=INVALID_PARAMS, message=f"unknown prompt {name!r}: this server offers no prompts"
            )
        return await super().get_prompt(name, arguments, context)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        """Check the caller's scope, run the tool, and turn any failure into a one-line ToolError."""
        granted = _granted_scopes()
        needed = self.scopes.get(name)
        if granted is not None and needed is not None and ALL not in granted and needed not in granted:
            have = ", ".join(granted) or "none"
            raise ToolError(f"access denied: {name} needs the {needed!r} scope; this token has {have}")
        await self._refuse_unknown_arguments(name, arguments)
        answering = _answering.set(self)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if isinstance(error.__cause__, QuotaExceeded):
                return quota_result(error.__cause__)
            raise ToolError(_explain(name, error)) from None
        finally:
            _answering.reset(answering)

    async def _refuse_unknown_arguments(self, name: str, arguments: dict[str, Any]) -> None:
        """Fail closed on a misspelt argument: `dataclass` silently dropped would route as public data."""
        if not self._argument_names:
            tools = await super().list_tools()
            self._argument_names = {t.name: frozenset(t.input_schema.get("properties", {})) for t in tools}
        known = self._argument_names.get(name)
        if known is None or known.issuperset(arguments):
            return
        unknown = ", ".join(sorted(set(arguments) - known))
        allowed = ", ".join(sorted(known)) or "none"
        raise ToolError(f"unknown argument(s) for {name}: {unknown}; it takes: {allowed}")


def quota_result(error: QuotaExceeded) -> CallToolResult:
    """A quota refusal as an `isError` result whose fields also say when to retry, for clients that back
    off by themselves (the text says the same for a person or a model)."""
    message = " ".join(str(error).split())
    fields: dict[str, Any] = {
        "error": "QuotaExceeded", "message": message, "scope": error.scope,
        "requests_per_minute": error.limit, "retry_after_s": error.retry_after_s,
        "retry_at": datetime.fromtimestamp(error.retry_at, UTC).isoformat().replace("+00:00", "Z"),
    }  # fmt: skip
    text = TextContent(type="text", text=message)
    return CallToolResult(content=[text], structured_content=fields, is_error=True)


async def with_heartbeat(ctx: Context, work: Awaitable[T], *, total: float, every: float = 2.0) -> T:
    """Await `work`, reporting progress every `every` seconds so a client sees a long provider call is
    alive (and clients that reset their timeout on progress do not give up on it)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    async def tick() -> None:
        waited = 0.0
        while True:
            await anyio.sleep(every)
            waited += every
            try:
                await ctx.report_progress(1, total, f"waiting for the provider ({waited:.0f} s)")
            except Exception:  # best effort: a client that stopped listening must not cancel the call
                log.debug("progress not delivered; the call goes on", exc_info=True)
                return

    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        try:
            outcome.append(await work)
        except Exception as error:  # re-raised below, outside the task group, unwrapped
            failure.append(error)
        finally:
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]


async def note_query(app: App, **fields: Any) -> None:
    """Audit a read-only governance query (as the caller), only when `audit.log_queries` is on."""
    if app.settings.audit.log_queries:
        from polyroute.audit import EventDraft

        await app.audit.append(EventDraft(principal=caller(app), **fields))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("polyroute")
    except PackageNotFoundError:
        return "0"
