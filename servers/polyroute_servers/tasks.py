"""Long `complete` calls as tasks: the MCP Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663).

mcp 2.3 ships the extension hooks (`Extension`, `MethodBinding`, the `tools/call` interceptor) but no
tasks implementation, so this module is one. A client that lists the extension in its per-request
capabilities (2026-07-28) gets a `CreateTaskResult` (`resultType: "task"`) for `complete` at once
instead of waiting on the provider; it then polls `tasks/get` (status, the latest progress message
as `statusMessage`, and finally the `CallToolResult`) and may `tasks/cancel`, which cancels the
provider call — the dispatcher still writes the call's outcome (a `failure` saying it was cancelled)
against the intent it wrote first, so the receipt survives.

Tasks live in this process's memory for `TTL_MS` and belong to the principal that started them:
polls must reach the same server process (one stdio server; one HTTP replica or sticky routing).
A call that will ask the user to classify its data is answered in-line (the question must be
settled before a task starts, as SEP-2663 recommends), and clients without the extension are
answered in-line as before.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolRequestParams, RequestParams, Result
from pydantic import BaseModel, Field

from polyroute_servers.classification import would_ask

if TYPE_CHECKING:
    from polyroute.app import App

log = logging.getLogger("polyroute.servers")
EXTENSION = "io.modelcontextprotocol/tasks"
TTL_MS = 3_600_000  # a finished task's result is kept an hour
POLL_MS = 500
Status = Literal["working", "input_required", "completed", "cancelled", "failed"]


class TaskParams(RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any] = Field(alias="inputResponses", default_factory=dict[str, Any])


class TaskState(Result):
    """The `Task` shape (SEP-2663); `CreateTaskResult` and `GetTaskResult` are this with a resultType."""

    task_id: str
    status: Status
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = TTL_MS
    poll_interval_ms: int | None = POLL_MS
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class CreateTaskResult(TaskState):
    result_type: Literal["task"] = "task"


class GetTaskResult(TaskState):
    result_type: Literal["complete"] = "complete"


@dataclass
class _Task:
    id: str
    owner: str | None
    created: datetime
    updated: datetime
    status: Status = "working"
    message: str | None = "routing to a compliant deployment"
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    def state(self, shape: type[TaskState]) -> TaskState:
        return shape(
            task_id=self.id, status=self.status, status_message=self.message,
            created_at=_iso(self.created), last_updated_at=_iso(self.updated),
            result=self.result if self.status == "completed" else None,
            error=self.error if self.status == "failed" else None,
        )  # fmt: skip

    def moved(self, status: Status, message: str | None) -> None:
        self.status, self.message, self.updated = status, message, datetime.now(UTC)


class _StatusSession:
    """The request's session, except that progress becomes the task's status message: once the
    `tools/call` has been answered with the task handle, there is no stream left to carry it."""

    def __init__(self, session: Any, task: _Task) -> None:
        self._session = session
        self._task = task

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        if message and self._task.status == "working":
            self._task.moved("working", message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class TasksExtension(Extension):
    """Serves `tasks/get`, `tasks/update`, `tasks/cancel` and turns eligible tool calls into tasks."""

    identifier = EXTENSION

    def __init__(self, app: App, tools: frozenset[str] = frozenset({"complete"})) -> None:
        self.app = app
        self.task_tools = tools
        self._tasks: dict[str, _Task] = {}

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskParams, self._get),
            MethodBinding("tasks/update", UpdateTaskParams, self._update),
            MethodBinding("tasks/cancel", TaskParams, self._cancel),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in self.task_tools or not _wants_tasks(ctx) or self._will_ask(params, ctx):
            return await call_next(ctx)
        self._forget_expired()
        now = datetime.now(UTC)
        task = _Task(id=str(uuid.uuid4()), owner=_principal(), created=now, updated=now)
        inner = replace(ctx, session=_StatusSession(ctx.session, task))  # type: ignore[arg-type]
        self._tasks[task.id] = task
        task.runner = asyncio.get_running_loop().create_task(self._run(task, call_next, inner))
        return task.state(CreateTaskResult)

    async def _run(self, task: _Task, call_next: CallNext, ctx: ServerRequestContext[Any, Any]) -> None:
        try:
            outcome = await call_next(ctx)
        except asyncio.CancelledError:
            task.moved("cancelled", "cancelled by the client; the receipt records the cancelled call")
            return
        except MCPError as error:
            task.error = {"code": error.error.code, "message": error.error.message}
            task.moved("failed", error.error.message)
            return
        except Exception:  # the tool layer turns failures into isError results; this is a server bug
            log.exception("task %s failed", task.id)
            task.error = {"code": -32603, "message": "internal error; the server log has details"}
            task.moved("failed", task.error["message"])
            return
        task.result = _dump(outcome)
        failed = bool(task.result.get("isError"))
        task.moved("completed", "the call returned an error" if failed else "answered")

    def _will_ask(self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any]) -> bool:
        """A call that may ask the user to classify it (or carries the answer) stays in-line."""
        arguments = params.arguments or {}
        jurisdiction, data_class = arguments.get("jurisdiction"), arguments.get("data_class")
        asking = would_ask(self.app, jurisdiction, data_class, ctx.session, ctx.protocol_version)
        return params.input_responses is not None or asking

    def _owned(self, task_id: str) -> _Task:
        task = self._tasks.get(task_id)
        if task is None or task.owner != _principal():
            raise MCPError(code=INVALID_PARAMS, message=f"unknown task {task_id!r} (finished tasks expire)")
        return task

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> GetTaskResult:
        state = self._owned(params.task_id).state(GetTaskResult)
        assert isinstance(state, GetTaskResult)
        return state

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        self._owned(params.task_id)  # no task of ours waits for input: answers to unknown keys are ignored
        return {}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        task = self._owned(params.task_id)
        if task.runner is not None and not task.runner.done():
            task.runner.cancel()
            await asyncio.wait({task.runner}, timeout=5)  # the outcome is queued before we answer
        return {}

    def _forget_expired(self) -> None:
        now = datetime.now(UTC)
        for task_id, task in list(self._tasks.items()):
            done = task.runner is None or task.runner.done()
            if done and (now - task.created).total_seconds() * 1000 > TTL_MS:
                del self._tasks[task_id]


def _wants_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    extensions = getattr(capabilities, "extensions", None) if capabilities is not None else None
    return isinstance(extensions, dict) and EXTENSION in extensions


def _principal() -> str | None:
    token = get_access_token()
    return token.client_id if token is not None else None


def _dump(outcome: HandlerResult) -> dict[str, Any]:
    if isinstance(outcome, BaseModel):
        return outcome.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(outcome or {})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
