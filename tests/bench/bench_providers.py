"""Adapter overhead vs the raw SDK call, against the same loopback fake, interleaved (A B, B A, …) in one run.

Target: ≤ 0.15 ms added median for Anthropic and OpenAI. Bedrock's thread hop (boto3 is sync) is
reported, not targeted. Also: the import time of `polyroute` (no vendor SDK) next to the SDKs' own.
Run: `.venv/bin/python tests/bench/bench_providers.py` (or `scripts/bench bench_providers`).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from benchkit import figure

from polyroute.catalog import Deployment
from polyroute.providers import Providers, call_with_retries
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders
from polyroute.types import CompletionRequest

ROUNDS, WARMUP = 300, 30
PROMPT = "Summarise the residency rules for Saudi personal data in one line."
Call = Callable[[], Awaitable[Any]]
Result = tuple[float, float, float]  # raw ms, adapter ms, added ms


def deployment(provider: str, model: str, **fields: Any) -> Deployment:
    return Deployment.model_validate(
        {
            "id": f"bench-{provider}",
            "provider": provider,
            "model": model,
            "api_model": model,
            "processing_locations": ["ANY"],
            "storage_locations": ["US"],
            "context_window": 200_000,
            "max_output_tokens": 8_000,
            **fields,
        }
    )


async def interleaved(raw: Call, adapter: Call) -> Result:
    """Median ms of each arm and the median of the paired (same-round) differences."""
    for _ in range(WARMUP):
        await raw()
        await adapter()
    wall: dict[Call, list[float]] = {raw: [], adapter: []}
    for round_number in range(ROUNDS):  # A B, B A, …: neither arm always inherits the other's leftovers
        for arm in (raw, adapter) if round_number % 2 == 0 else (adapter, raw):
            start = time.perf_counter()
            await arm()
            wall[arm].append((time.perf_counter() - start) * 1000)
    paired = [a - r for a, r in zip(wall[adapter], wall[raw], strict=True)]
    return statistics.median(wall[raw]), statistics.median(wall[adapter]), statistics.median(paired)


async def bench_anthropic(providers: Providers, request: CompletionRequest) -> Result:
    import anthropic

    target = deployment("anthropic", "claude-sonnet-4-6", inference_geo="us")
    client = anthropic.AsyncAnthropic(max_retries=0)

    async def raw() -> Any:
        return await client.messages.create(
            model=target.api_model,
            max_tokens=1024,
            inference_geo="us",
            messages=[{"role": "user", "content": PROMPT}],
        )

    try:
        return await interleaved(raw, lambda: call_with_retries(providers, target, request))
    finally:
        await client.close()


async def bench_openai(providers: Providers, request: CompletionRequest) -> Result:
    import openai

    target = deployment("openai", "gpt-5.4", data_residency="eu")
    client = openai.AsyncOpenAI(max_retries=0)

    async def raw() -> Any:
        return await client.chat.completions.create(
            model=target.api_model, max_completion_tokens=1024, messages=[{"role": "user", "content": PROMPT}]
        )

    try:
        return await interleaved(raw, lambda: call_with_retries(providers, target, request))
    finally:
        await client.close()


async def bench_bedrock(providers: Providers, request: CompletionRequest) -> Result:
    import boto3  # pyright: ignore[reportMissingTypeStubs]
    import botocore.config  # pyright: ignore[reportMissingTypeStubs]

    target = deployment("bedrock", "eu.anthropic.claude-sonnet-4-6", aws_region="eu-central-1")
    config = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    client: Any = boto3.client("bedrock-runtime", region_name="eu-central-1", config=config)  # pyright: ignore[reportUnknownMemberType]

    async def raw() -> Any:  # the raw SDK call, blocking the loop as a plain boto3 user would
        return client.converse(
            modelId=target.api_model, messages=[{"role": "user", "content": [{"text": PROMPT}]}]
        )

    return await interleaved(raw, lambda: call_with_retries(providers, target, request))


def per_call_us(work: Callable[[], object], rounds: int = 5000) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - start) / rounds * 1e6


def own_work_us(fakes: FakeProviders, providers: Providers) -> dict[str, float]:
    """µs per call of what an adapter adds around the SDK's HTTP exchange, without I/O (steady on a busy
    machine): endpoint lookup, the wire body, reading the answer's bytes into the Completion, the Attempt."""
    import json

    from polyroute.providers import chatwire, messageswire
    from polyroute.types import Attempt

    request = CompletionRequest.from_prompt(PROMPT, system="Be brief.")
    claude = deployment("anthropic", "claude-sonnet-4-6", inference_geo="us")
    gpt = deployment("openai", "gpt-5.4", data_residency="eu")
    body = {"model": "m", "messages": [{"role": "user", "content": PROMPT}]}
    message = json.dumps(fakes.anthropic.answer("m", "/v1/messages", body).payload).encode()
    chat = json.dumps(fakes.openai.answer("m", "/v1/chat/completions", body).payload).encode()
    gpt_adapter: Any = providers.for_deployment(gpt)

    def claude_work() -> object:
        providers.for_deployment(claude)
        sent = {"model": claude.api_model, **messageswire.request_body(claude, request)}
        assert sent["model"] == claude.api_model
        answer = messageswire.read_message(message)
        assert answer is not None
        done = messageswire.completion(
            claude, answer, provider="anthropic", model=answer["model"], request_id="req", latency_ms=1.0
        )
        return Attempt(deployment=claude.id, ok=True, latency_ms=done.latency_ms)

    def gpt_work() -> object:
        providers.for_deployment(gpt)
        chatwire.request_body(gpt, request)
        done = gpt_adapter._completion(gpt, chatwire.Answer.read(chat), "req", 1.0)
        return Attempt(deployment=gpt.id, ok=True, latency_ms=done.latency_ms)

    return {"anthropic": per_call_us(claude_work), "openai": per_call_us(gpt_work)}


def import_ms(statement: str, runs: int = 3) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    ]
    return statistics.median(samples)


def main() -> int:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {ROUNDS} interleaved rounds after {WARMUP} warm-up"
    )
    with FakeProviders() as fakes:
        os.environ.update(fakes.env())
        request = CompletionRequest.from_prompt(PROMPT)

        async def run_all() -> dict[str, Result]:
            providers = Providers(load_settings())
            try:
                return {
                    "anthropic": await bench_anthropic(providers, request),
                    "openai": await bench_openai(providers, request),
                    "bedrock": await bench_bedrock(providers, request),
                }
            finally:
                await providers.aclose()

        results = anyio.run(run_all)
        own = own_work_us(fakes, Providers(load_settings()))
    print(
        f"{'provider':<10} {'raw SDK ms':>11} {'adapter ms':>11} {'added ms':>9} {'ratio':>6} "
        f" target (added = median of paired differences)"
    )
    failed = False
    for name, (raw, adapter, added) in results.items():
        target = "≤ 0.15 ms" if name != "bedrock" else "reported (thread hop)"
        ok = name == "bedrock" or added <= 0.15
        failed |= not ok
        target_text = None if name == "bedrock" else "≤ 0.15 ms"
        figure(f"{name} adapter, added over the raw SDK call", added, "ms", baseline=raw,
               baseline_name="raw SDK call", target=target_text, met=ok)  # fmt: skip
        print(
            f"{name:<10} {raw:>11.3f} {adapter:>11.3f} {added:>+9.3f} {adapter / raw:>6.2f}"
            f"  {target}{'' if ok else '  MISSED'}"
        )
    print(
        "adapter's own work per call, no I/O: " + ", ".join(f"{name} {us:.1f} µs" for name, us in own.items())
    )
    polyroute = import_ms("import polyroute, polyroute.app, polyroute.providers, polyroute.catalog")
    print(f"import polyroute (+app, providers, catalog): {polyroute:.1f} ms; for scale, the SDKs it defers:")
    for sdk in ("anthropic", "openai", "boto3"):
        print(f"  import {sdk}: {import_ms(f'import {sdk}'):.1f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
