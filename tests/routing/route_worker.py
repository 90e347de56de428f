"""A separate process making routed calls until it is killed (used by test_intent's crash test).

usage: python route_worker.py OPENAI_BASE_URL CONCURRENCY
Data dir and keys come from the environment (the test's sandbox). Every call pins one sovereign
deployment on the wire fake and sends a prompt no other call sends, so the fake's record of what it
received can be matched to the log by keyed digest. Prints one line per finished call.
"""

from __future__ import annotations

import os
import sys

import anyio

from polyroute.app import App
from polyroute.routing import RouteRequest
from polyroute.settings import load_settings
from polyroute.types import CompletionRequest

DEPLOYMENT = {
    "id": "crash-sa", "provider": "openai_compatible", "model": "crash-model", "location": "SA",
    "context_window": 32000, "max_output_tokens": 1000, "capabilities": ["json"],
    "price": {"input_per_mtok": "1", "output_per_mtok": "2"},
}  # fmt: skip


def prompt(worker: int, n: int) -> str:
    return f"crash test call {os.getpid()}-{worker}-{n}"


async def main(base_url: str, concurrency: int) -> None:
    settings = load_settings().model_copy(update={"deployments": [{**DEPLOYMENT, "base_url": base_url}]})
    app = App(settings, principal="local:crash")
    await app.audit.ready()
    print("ready", flush=True)

    async def worker(number: int) -> None:
        n = 0
        while True:
            n += 1
            request = CompletionRequest.from_prompt(prompt(number, n), max_tokens=50)
            await app.router.complete(
                RouteRequest(request=request, model="crash-sa", data_class="public", principal="local:crash")
            )
            print(f"done {number} {n}", flush=True)

    async with anyio.create_task_group() as group:
        for number in range(concurrency):
            group.start_soon(worker, number)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]))
