"""No provider sees a routed call's request before its intent is durable: the rule, kept where the
request leaves the process.

Writing the intent (one fsync, ~0.2–0.3 ms on these machines) and building the provider request (the
SDK's own work before it sends, ~0.3 ms) need not wait for each other; only sending must. Dispatch
holds the call's intent durability (`holding`) while it calls providers, and every adapter waits for
it (`passed`) at its send point: the SDK clients' HTTP request hook (`request_hooks`), boto3's call
before its worker thread. An intent that could not be written stops the call there; an SDK may wrap
what its hook raised (the anthropic SDK reports a dropped connection, the openai SDK passes it on),
so the retry loop and dispatch ask `failure()` which error to raise instead.
Outside a routed call nothing is held and `passed` returns at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from polyroute.errors import PolyrouteError


class Durability(Protocol):
    """Whether an intent has reached the audit store."""

    async def wait(self) -> None:
        """Return once the intent is durable; raise the store's error when it cannot be."""
        ...

    def failure(self) -> PolyrouteError | None:
        """The error `wait` raised, if it did (never blocks)."""
        ...


class _Durable:
    """An intent the store confirmed before answering (a group commit, PostgreSQL)."""

    async def wait(self) -> None:
        return None

    def failure(self) -> PolyrouteError | None:
        return None


DURABLE: Durability = _Durable()

_held: ContextVar[Durability | None] = ContextVar("polyroute_sendgate", default=None)


@contextmanager
def holding(durability: Durability) -> Generator[None]:
    """Within this block (and the tasks it starts), provider requests wait for `durability`."""
    token = _held.set(durability)
    try:
        yield
    finally:
        _held.reset(token)


async def passed() -> None:
    """Wait until the request may leave: the held intent is durable (raises when it cannot be)."""
    held = _held.get()
    if held is not None:
        await held.wait()


def failure() -> PolyrouteError | None:
    """Why the held intent could not be written, once that is known (a request then never left)."""
    held = _held.get()
    return None if held is None else held.failure()


async def _before_request(_request: object) -> None:
    await passed()


def request_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """`event_hooks` for an SDK's HTTP client: every request it sends waits at `passed` first."""
    return {"request": [_before_request]}


__all__ = ["DURABLE", "Durability", "failure", "holding", "passed", "request_hooks"]
