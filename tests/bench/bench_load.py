"""Benchmark under load: routed calls through `polyroute serve suite --http` vs the LiteLLM proxy.

The same chat request, with 16 and then 64 clients in flight, three ways against one fake OpenAI
server (its own process, so the fake's work lands on neither gateway):

- direct: POST /v1/chat/completions to the fake (the baseline both gateways add to);
- LiteLLM proxy (`litellm --config`, its OpenAI-compatible server, in its own venv made by
  scripts/bench so its pins cannot touch ours): POST /v1/chat/completions;
- Polyroute: POST /mcp `tools/call complete` pinned to a sovereign deployment on the fake, durable
  receipt included.

Reported per concurrency: added p50 and p99 (gateway minus direct, same run) and calls/s for each, and
the suite server's peak RSS after the 64-client round. Targets (issue 12): our p99 added at 16 below
the LiteLLM proxy's, our throughput at least its; suite peak RSS ≤ 150 MB.
Run: `scripts/bench bench_load` (~1 min plus the proxy's start-up).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from benchkit import figure, percentile

from polyroute.testing.ports import free_port, wait_listening

BIN = Path(sys.executable).parent
PROXY = Path(os.environ.get("POLYROUTE_BENCH_LITELLM_VENV", ".venv-litellm-proxy")) / "bin" / "litellm"
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "8"))
LEVELS = (16, 64)
PROMPT = "Summarise in one sentence: the parcel arrived late and the invoice named the wrong address."
CHAT = {"model": "bench", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 100}


def wait_for(port: int, proc: subprocess.Popen[bytes], what: str, seconds: float = 120) -> None:
    try:
        wait_listening(port, proc, within_s=seconds)
    except RuntimeError as error:
        raise SystemExit(f"{what}: {error}") from None


def start_fake(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`python -m polyroute.testing` in its own process; its printed `export` lines are the env."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyroute.testing"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    found: dict[str, str] = {}
    while "OPENAI_BASE_URL" not in found or "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" not in found:
        line = proc.stdout.readline().decode()
        if not line:
            raise SystemExit("the fake providers did not start")
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            found[name] = shlex.split(value)[0] if value else ""
    return proc, found


def start_polyroute(
    home: Path, env: dict[str, str], openai_url: str, token: str
) -> tuple[subprocess.Popen[bytes], int]:
    config = home / "config.toml"
    config.write_text(
        "[[deployments]]\n"
        'id = "bench-sovereign-de"\nprovider = "openai_compatible"\nmodel = "bench-local-model"\n'
        f'base_url = "{openai_url}"\nlocation = "DE"\ncapabilities = ["json"]\n'
        "context_window = 32000\nmax_output_tokens = 4096\n"
        'price = { input_per_mtok = "0.001", output_per_mtok = "0.002" }\n'
    )
    port = free_port()
    server_env = {**env, "POLYROUTE_CONFIG": str(config), "POLYROUTE_HTTP_TOKENS": f"bench={token}:*"}
    argv = [str(BIN / "polyroute"), "serve", "suite", "--http", "--port", str(port)]
    proc = subprocess.Popen(argv, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port, proc, "polyroute serve suite --http")
    return proc, port


def start_litellm(
    home: Path, env: dict[str, str], openai_url: str, key: str
) -> tuple[subprocess.Popen[bytes], int]:
    if not PROXY.exists():
        raise SystemExit(
            f"benchmark baseline missing: {PROXY} (scripts/bench makes the LiteLLM proxy's venv)"
        )
    config = home / "litellm.yaml"
    config.write_text(
        "model_list:\n  - model_name: bench\n    litellm_params:\n"
        f"      model: openai/bench-local-model\n      api_base: {openai_url}\n      api_key: sk-fake\n"
        "litellm_settings:\n  num_retries: 0\n  telemetry: false\n"
    )
    port = free_port()
    proxy_env = {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    proxy_env["LITELLM_MASTER_KEY"] = key
    argv = [
        str(PROXY),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    proc = subprocess.Popen(argv, env=proxy_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port, proc, "litellm proxy")
    return proc, port


async def load(
    url: str, body: dict[str, object], headers: dict[str, str], clients: int
) -> tuple[list[float], float]:
    """`clients` concurrent callers for SECONDS: every latency in ms, and completed calls per second."""
    latencies: list[float] = []
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(trust_env=False, timeout=60, limits=limits, headers=headers) as http:

        async def caller(stop: float, keep: bool) -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await http.post(url, json=body)
                if response.status_code != 200 or '"isError":true' in response.text.replace(" ", ""):
                    raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
                if keep:
                    latencies.append((time.perf_counter() - started) * 1e3)

        await asyncio.gather(*(caller(time.perf_counter() + 1.0, False) for _ in range(clients)))  # warm up
        began = time.perf_counter()
        await asyncio.gather(*(caller(began + SECONDS, True) for _ in range(clients)))
        return latencies, len(latencies) / (time.perf_counter() - began)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(openai_url: str, polyroute_port: int, litellm_port: int, token: str, pid: int) -> None:
    mcp_headers = {
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25",
        "Authorization": f"Bearer {token}",
    }  # fmt: skip
    arguments = {"prompt": PROMPT, "model": "bench-sovereign-de", "max_tokens": 100}
    mcp = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "complete", "arguments": arguments},
    }
    direct_body = {**CHAT, "model": "bench-local-model"}
    bearer = {"Authorization": f"Bearer {token}"}  # both gateways authenticate the same way
    litellm_url = f"http://127.0.0.1:{litellm_port}/v1/chat/completions"
    print(
        f"{'clients':>7} {'system':<10} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} "
        f"{'added p99':>10} {'calls/s':>9}"
    )
    for clients in LEVELS:
        runs = {
            "direct": await load(f"{openai_url}/chat/completions", direct_body, {}, clients),
            "litellm": await load(litellm_url, CHAT, bearer, clients),
            "polyroute": await load(f"http://127.0.0.1:{polyroute_port}/mcp", mcp, mcp_headers, clients),
        }
        base50, base99 = statistics.median(runs["direct"][0]), percentile(runs["direct"][0], 0.99)
        added: dict[str, tuple[float, float, float]] = {}
        for name, (latencies, rate) in runs.items():
            p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
            added[name] = (p50 - base50, p99 - base99, rate)
            print(
                f"{clients:>7} {name:<10} {p50:8.2f} {p99:8.2f} {p50 - base50:10.2f} "
                f"{p99 - base99:10.2f} {rate:9.0f}"
            )
        ours, theirs = added["polyroute"], added["litellm"]
        figure(
            f"{clients} clients: added p50, Polyroute",
            ours[0],
            "ms",
            baseline=theirs[0],
            baseline_name="LiteLLM proxy",
        )
        figure(
            f"{clients} clients: added p99, Polyroute", ours[1], "ms",
            baseline=theirs[1], baseline_name="LiteLLM proxy",
            target="below LiteLLM proxy's" if clients == 16 else None, met=ours[1] < theirs[1],
        )  # fmt: skip
        figure(
            f"{clients} clients: calls/s, Polyroute", ours[2], "calls/s", baseline=theirs[2],
            baseline_name="LiteLLM proxy", target="≥ LiteLLM proxy's" if clients == 16 else None,
            met=ours[2] >= theirs[2], better="higher",
        )  # fmt: skip
    rss = peak_rss_mb(pid)
    print(f"suite server peak RSS after the {LEVELS[-1]}-client round: {rss:.0f} MB (target ≤ 150 MB)")
    figure("suite server peak RSS under load", rss, "MB", target="≤ 150 MB", met=rss <= 150)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        home = Path(tmp)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("POLYROUTE_") and not k.endswith("_API_KEY")
        }
        env |= {"HOME": str(home), "POLYROUTE_DATA_DIR": str(home / "data")}
        env |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        token = f"sk-{secrets.token_urlsafe(24)}"  # LiteLLM wants its master key to start with sk-
        procs: list[subprocess.Popen[bytes]] = []
        try:
            fake, fake_env = start_fake(env)
            procs.append(fake)
            env |= fake_env
            openai_url = fake_env["OPENAI_BASE_URL"]
            polyroute, polyroute_port = start_polyroute(home, env, openai_url, token)
            procs.append(polyroute)
            litellm, litellm_port = start_litellm(home, env, openai_url, token)
            procs.append(litellm)
            asyncio.run(measure(openai_url, polyroute_port, litellm_port, token, polyroute.pid))
        finally:
            for proc in reversed(procs):
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
