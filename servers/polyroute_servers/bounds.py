"""Bounded work per request: how much text a tool takes, and counting it off the event loop.

Every tool that takes a prompt checks its size before anything else (`check_prompt`): a prompt larger
than `Limits.max_prompt_bytes` is refused with the limit named, and a prompt that cannot fit the context
window of any deployment it could go to is refused before it is counted (`cannot_fit`). What is left is
counted in a worker thread (`count_off_loop`): exact counts run in tiktoken without the GIL, and the
heuristic's passes are sliced, so `/healthz` and other clients keep being served meanwhile; the plan
that follows on the event loop finds the counts in `polyroute.textmemo`. A small request (a few kB) is
left to the plan, which counts it on the loop: under HTTP load a thread hop per call cost more.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import anyio
from anyio.lowlevel import RunVar
from mcp.server.mcpserver.exceptions import ToolError

from polyroute.errors import PolyrouteError
from polyroute.tokencount import counting_key, request_tokens

if TYPE_CHECKING:
    from polyroute.catalog import Deployment
    from polyroute.routing import Router, RouteRequest
    from polyroute.types import CompletionRequest

MIB = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request caps of a server (constants today; settings could set them later)."""

    max_prompt_bytes: int = 4 * MIB
    """Text of prompt + messages + system, UTF-8: ~900k tokens of English, ~1M of Arabic."""
    max_messages: int = 2_000
    """Messages per request: each is counted apart (~5 µs), and the plan recounts them on the loop."""
    max_detail_bytes: int = 64 * 1024
    """`record_event` details, as canonical JSON."""
    max_answer_bytes: int = 4 * MIB
    """`query_events`: the events of one answer, as JSON; older ones wait for the next page."""


BYTES_PER_TOKEN = {"o200k_base": 128, "cl100k_base": 128}
"""The longest token of each encoding, in bytes (measured over the bundled vocabularies): a text of B
bytes has at least B / 128 tokens."""
ASSUMED_BYTES_PER_TOKEN = 256
"""For tokenizers we cannot inspect (Claude, sovereign models): an assumption twice OpenAI's longest
token. Were a tokenizer to have longer tokens, the cost would be a text refused that might have fit."""


def text_bytes(request: CompletionRequest) -> int:
    """UTF-8 size of the text a provider would read (images not included)."""
    parts = [request.system or "", *(message.text() for message in request.messages)]
    return sum(len(part) if part.isascii() else len(part.encode("utf-8", "surrogatepass")) for part in parts)


def check_prompt(request: CompletionRequest, limits: Limits) -> int:
    """The text's size in bytes; ToolError when it or the number of messages is over the server's limit."""
    if len(request.messages) > limits.max_messages:
        raise ToolError(
            f"the request has {len(request.messages):,} messages; this server takes at most "
            f"{limits.max_messages:,} per request (max_messages); nothing was counted or sent"
        )
    size = text_bytes(request)
    if size > limits.max_prompt_bytes:
        raise ToolError(
            f"the prompt is {size:,} bytes; this server takes at most {limits.max_prompt_bytes:,} bytes "
            "of prompt, messages and system text per request (max_prompt_bytes); nothing was counted or sent"
        )
    return size


def fewest_tokens(size: int, deployment: Deployment) -> int:
    """A lower bound on the tokens of any `size`-byte text for this deployment, without reading it."""
    return -(-size // BYTES_PER_TOKEN.get(counting_key(deployment), ASSUMED_BYTES_PER_TOKEN))


def cannot_fit(size: int, deployment: Deployment, max_tokens: int) -> str | None:
    """Why a `size`-byte text cannot fit this deployment's context window whatever its tokens, or None."""
    least = fewest_tokens(size, deployment)
    if least + max_tokens <= deployment.context_window:
        return None
    return (
        f"{size:,} bytes of text is at least {least:,} tokens, which with max_tokens {max_tokens:,} "
        f"exceeds the context window of {deployment.context_window:,}"
    )


def refuse_if_nothing_fits(size: int, pool: Iterable[Deployment], max_tokens: int) -> None:
    """ToolError when the text cannot fit any deployment of `pool` (checked before counting)."""
    pool = list(pool)
    reasons = [cannot_fit(size, deployment, max_tokens) for deployment in pool]
    if pool and all(reasons):
        widest = max(pool, key=lambda d: d.context_window)
        raise ToolError(
            f"the prompt cannot fit any deployment it could go to: on {widest.id}, the widest, "
            f"{reasons[pool.index(widest)]}; nothing was counted or sent"
        )


COUNTING_THREADS = max(2, os.cpu_count() or 2)
_counting: RunVar[anyio.CapacityLimiter] = RunVar("polyroute_counting")


async def run_counting(work: Callable[[], T]) -> T:
    """`work()` in a worker thread, at most COUNTING_THREADS at once: many hostile prompts then queue
    for CPU among themselves instead of taking every thread that audit writes and SDK calls need too."""
    try:
        limiter = _counting.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(COUNTING_THREADS)
        _counting.set(limiter)
    return await anyio.to_thread.run_sync(work, limiter=limiter)


INLINE_BYTES = 2048
INLINE_MESSAGES = 16


async def count_off_loop(
    pool: Iterable[Deployment], request: CompletionRequest, size: int | None = None
) -> None:
    """Count the request once per tokenizer family of `pool`, in one worker-thread hop for them all (see
    module docstring) — or not at all when it is small (`size` text bytes × families ≤ INLINE_BYTES, at
    most INLINE_MESSAGES messages): the hop would cost more than the counting, which stays around 1 ms
    even at the slowest counting speed documented (2 MB/s, hostile runs of one repeated letter), and the
    plan counts a small text on the loop anyway (`textmemo` keeps only large ones), so counting it here
    too was done twice."""
    families: dict[str, Deployment] = {}
    for deployment in pool:
        families.setdefault(counting_key(deployment), deployment)
    size = text_bytes(request) if size is None else size
    if size * len(families) <= INLINE_BYTES and len(request.messages) <= INLINE_MESSAGES:
        return
    work = [functools.partial(request_tokens, deployment, request) for deployment in families.values()]
    await run_counting(lambda: [count() for count in work])


SDK_MODULES = {
    "anthropic": "anthropic", "openai": "openai", "azure_openai": "openai", "openai_compatible": "openai",
    "bedrock": "boto3",
}  # fmt: skip
"""The vendor SDK each provider kind imports on first use (1–5 s on a loaded machine)."""


def sdks_missing(providers: Iterable[str]) -> list[str]:
    """The SDKs these providers need that are not imported yet (usually none: a dict lookup each)."""
    names = {SDK_MODULES[p] for p in providers if p in SDK_MODULES}
    return sorted(name for name in names if name not in sys.modules)


async def import_off_loop(modules: Iterable[str]) -> None:
    """Import vendor SDKs in a worker thread: imported lazily on the event loop, the first call to a
    provider stalled every client of the server for as long as the import took."""
    for name in modules:
        await anyio.to_thread.run_sync(importlib.import_module, name)


_warmed: set[frozenset[str]] = set()


async def import_for_route(router: Router, pool: Sequence[Deployment], route: RouteRequest) -> None:
    """Before a routed call: import the SDK its first candidate needs, off the loop. Planned for that only
    until each kind of pool has been seen once, so steady-state calls pay a set lookup, not a plan."""
    kinds = frozenset(deployment.provider for deployment in pool)
    if kinds in _warmed or not sdks_missing(kinds):
        return
    _warmed.add(kinds)
    try:
        plan = router.plan(route)
    except PolyrouteError:  # the call itself will refuse, with its receipt
        return
    await import_off_loop(sdks_missing(c.provider for c in plan.candidates[:1]))


async def admit(request: CompletionRequest, pool: Iterable[Deployment], limits: Limits) -> None:
    """Everything a prompt-taking tool does before its real work: size cap, fit check, counting."""
    pool = list(pool)
    size = check_prompt(request, limits)
    refuse_if_nothing_fits(size, pool, request.max_tokens)
    await count_off_loop(pool, request, size)


__all__ = [
    "ASSUMED_BYTES_PER_TOKEN",
    "BYTES_PER_TOKEN",
    "Limits",
    "admit",
    "cannot_fit",
    "check_prompt",
    "count_off_loop",
    "fewest_tokens",
    "import_for_route",
    "import_off_loop",
    "sdks_missing",
    "refuse_if_nothing_fits",
    "run_counting",
    "text_bytes",
]
