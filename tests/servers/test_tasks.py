"""`complete` as a task (the io.modelcontextprotocol/tasks extension) through a real MCP client.

The client side is the SDK's own extension hook: a `ClientExtension` that declares the extension and
claims the `resultType: "task"` shape, polling `tasks/get` until the task ends. The provider is the
wire-level fake made slow with `Fault(delay=...)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, EmptyResult, Request
from test_tools import ok
from test_transport import BIN, server_env

from polyroute.app import App
from polyroute.testing import FakeProviders, Fault
from polyroute_servers import router, suite
from polyroute_servers.tasks import EXTENSION, CreateTaskResult, GetTaskResult, TaskParams

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app() -> AsyncIterator[App]:
    """The conftest's App, closed after the test (its provider clients belong to this test's loop)."""
    made = App(principal="local:tester")
    yield made
    await made.aclose()


ARGS = {
    "prompt": "slow",
    "model": "anthropic-claude-sonnet-4-6",
    "jurisdiction": "US",
    "data_class": "public",
}


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    name_param = "taskId"


class CancelTask(Request[TaskParams, Literal["tasks/cancel"]]):
    name_param = "taskId"


class Tasks(ClientExtension):
    """A requester for the tasks extension: polls each task it is handed and notes what it saw."""

    identifier = EXTENSION

    def __init__(self) -> None:
        self.seen: list[GetTaskResult] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=self._poll)]

    async def _poll(self, created: CreateTaskResult, ctx: ClaimContext) -> CallToolResult:
        while True:
            state = await get(ctx.session, created.task_id)
            self.seen.append(state)
            if state.status == "completed":
                return CallToolResult.model_validate(state.result)
            assert state.status == "working", state
            await anyio.sleep(0.05)


async def get(session: Any, task_id: str) -> GetTaskResult:
    return await session.send_request(
        GetTask(method="tasks/get", params=TaskParams(taskId=task_id)), GetTaskResult
    )


@pytest.fixture
def slow(provider_env: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> FakeProviders:
    monkeypatch.setattr(router, "HEARTBEAT_SECONDS", 0.1)
    provider_env.anthropic.inject("claude-sonnet-4-6", Fault(delay=0.8))
    return provider_env


async def test_a_slow_complete_runs_as_a_task_with_status_and_the_result(
    app: App, slow: FakeProviders
) -> None:
    tasks = Tasks()
    async with Client(suite.build(app), extensions=[tasks]) as client:
        answer = ok(await client.call_tool("complete", ARGS))
        receipt = ok(await client.call_tool("get_receipt", {"receipt_id": answer["receipt_id"]}))
    messages = [state.status_message or "" for state in tasks.seen]
    assert any(m.startswith("waiting for the provider") for m in messages), messages
    assert tasks.seen[-1].status == "completed" and tasks.seen[-1].status_message == "answered"
    assert answer["deployment"] == "anthropic-claude-sonnet-4-6" and receipt["event_type"] == "completion"


async def test_cancelling_a_task_cancels_the_provider_call_and_keeps_the_receipt(
    app: App, slow: FakeProviders
) -> None:
    async with Client(suite.build(app), extensions=[Tasks()]) as client:
        created = await client.session.call_tool("complete", ARGS, allow_claimed=True)
        assert isinstance(created, CreateTaskResult) and created.status == "working"
        with anyio.fail_after(5):
            while not slow.anthropic.seen():  # the provider has the request: cancel mid-call
                await anyio.sleep(0.02)
        await client.session.send_request(
            CancelTask(method="tasks/cancel", params=TaskParams(taskId=created.task_id)), EmptyResult
        )
        state = await get(client.session, created.task_id)
        failures = ok(await client.call_tool("query_events", {"event_type": "failure"}))
        intents = ok(await client.call_tool("query_events", {"event_type": "intent"}))
    assert state.status == "cancelled" and state.result is None
    assert failures["count"] == 1 and intents["count"] == 1
    failure = failures["events"][0]
    assert failure["intent_id"] == intents["events"][0]["id"] and "cancelled" in failure["reasons"][0]


async def test_clients_without_the_extension_and_other_principals_get_no_task(
    app: App, slow: FakeProviders
) -> None:
    async with Client(suite.build(app)) as plain:
        answer = ok(await plain.call_tool("complete", ARGS))  # in-line, as before
    assert answer["receipt_id"]
    async with Client(suite.build(app), extensions=[Tasks()]) as client:
        created = await client.session.call_tool("complete", ARGS, allow_claimed=True)
        listed = await client.session.call_tool("list_models", {}, allow_claimed=True)
        assert isinstance(created, CreateTaskResult) and isinstance(listed, CallToolResult)  # only complete
        with pytest.raises(MCPError, match="unknown task"):
            await get(client.session, "not-a-task")


@pytest.mark.slow
async def test_over_stdio_complete_runs_as_a_task(tmp_path: Path, fakes: FakeProviders) -> None:
    fakes.clear()
    fakes.anthropic.inject("claude-sonnet-4-6", Fault(delay=0.5))
    params = StdioServerParameters(
        command=str(BIN / "polyroute-router"), env=server_env(tmp_path, **fakes.env())
    )
    tasks = Tasks()
    async with Client(stdio_client(params), extensions=[tasks]) as client:
        answer = ok(await client.call_tool("complete", ARGS))
    assert answer["provider"] == "anthropic" and tasks.seen and tasks.seen[-1].status == "completed"


async def test_a_call_that_asks_the_classification_question_is_answered_in_line(
    app: App, provider_env: FakeProviders
) -> None:
    from test_elicitation import PROMPT, Person

    tasks, person = Tasks(), Person(content={"jurisdiction": "US", "data_class": "personal"})
    async with Client(suite.build(app), extensions=[tasks], elicitation_callback=person) as client:
        answer = ok(await client.call_tool("complete", PROMPT))
    assert len(person.asked) == 1 and tasks.seen == [] and answer["jurisdiction"] == "US"
