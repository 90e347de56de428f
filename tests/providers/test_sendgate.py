"""Every adapter holds its request until the routed call's intent is durable (sendgate.py), and one
whose intent was lost sends nothing, retries nothing, and says why."""

from __future__ import annotations

import time

import anyio
import pytest
from provider_fixtures import deployment, request

from polyroute import sendgate
from polyroute.catalog import Deployment
from polyroute.errors import PolyrouteError
from polyroute.providers import Providers, call_with_retries
from polyroute.testing import FakeProviders

pytestmark = pytest.mark.anyio

ADAPTERS = [
    deployment("anthropic", "claude-sonnet-4-6"),
    deployment("openai", "gpt-5.4"),
    deployment("azure_openai", "gpt-5-1-eu"),
    deployment("bedrock", "eu.anthropic.claude-sonnet-4-6-v1:0", aws_region="eu-central-1"),
    deployment("bedrock", "eu.anthropic.claude-sonnet-5-5", aws_region="eu-central-1", bedrock_api="invoke"),
]


class Held:
    """An intent still being written until `release`, or lost (`lose`)."""

    def __init__(self) -> None:
        self.released = anyio.Event()
        self.lost: PolyrouteError | None = None

    def release(self) -> None:
        self.released.set()

    def lose(self) -> None:
        self.lost = PolyrouteError("audit store x: append failed: disk I/O error")
        self.released.set()

    async def wait(self) -> None:
        await self.released.wait()
        if self.lost is not None:
            raise self.lost

    def failure(self) -> PolyrouteError | None:
        return self.lost


def seen(fakes: FakeProviders) -> int:
    return sum(len(server.seen()) for server in fakes.servers)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("target", ADAPTERS, ids=lambda d: f"{d.provider}:{d.bedrock_api or ''}")
async def test_no_request_leaves_before_the_intent_is_durable(
    providers: Providers, env: FakeProviders, target: Deployment
) -> None:
    held = Held()
    answers: list[str] = []

    async def call() -> None:
        with sendgate.holding(held):
            completion, _ = await call_with_retries(providers, target, request())
        answers.append(completion.text)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await anyio.sleep(0.3)  # long enough for the SDK to have sent it, were it not held
            assert seen(env) == 0 and answers == []
            held.release()
    finally:
        await providers.aclose()
    assert seen(env) == 1 and len(answers) == 1


@pytest.mark.parametrize("target", ADAPTERS, ids=lambda d: f"{d.provider}:{d.bedrock_api or ''}")
async def test_a_lost_intent_sends_nothing_and_is_not_retried(
    providers: Providers, env: FakeProviders, target: Deployment
) -> None:
    held = Held()
    held.lose()
    started = time.perf_counter()
    try:
        with sendgate.holding(held), pytest.raises(PolyrouteError) as raised:
            await call_with_retries(providers, target, request())
    finally:
        await providers.aclose()
    assert seen(env) == 0 and sendgate.failure() is None  # nothing held outside the block
    assert time.perf_counter() - started < 1.0  # no backoff pauses before giving up
    assert held.failure() is not None
    attempts = getattr(raised.value, "attempts", None)
    assert attempts is None or len(attempts) == 1  # an adapter that wrapped it made one attempt only


async def test_outside_a_routed_call_nothing_is_held(providers: Providers, env: FakeProviders) -> None:
    try:
        await sendgate.passed()
        completion, _ = await call_with_retries(providers, ADAPTERS[1], request())
    finally:
        await providers.aclose()
    assert completion.text and seen(env) == 1 and sendgate.failure() is None
