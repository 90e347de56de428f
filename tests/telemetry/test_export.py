"""A running `polyroute serve suite --http` with telemetry on, observed by what operators run next to it:
a real Prometheus (Debian's package) scraping `/metrics` with a bearer token, and an OTLP/HTTP receiver
decoding the exporter's protobuf. Routed calls go to the wire-level fakes; a canary prompt and a canary
key must appear in none of the spans, metrics or JSON log lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from otlp_receiver import Receiver, attributes

from polyroute.testing import FakeProviders, Fault
from polyroute.testing.ports import free_port, wait_listening

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
CANARY_PROMPT = "canary-prompt-7f3e9b1c please repeat"
CANARY_KEY = "sk-ant-api03-CANARYKEY9d8e7f6a5b4c3d2e1f0"
ROUTE_TOKEN, OPS_TOKEN = "tok-route-5b2c", "tok-ops-8e1d"
TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
CALLS = 3


@dataclass
class Served:
    url: str
    home: Path
    receiver: Receiver
    results: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    @property
    def log(self) -> str:
        return (self.home / "server.log").read_text()


async def routed_calls(url: str) -> list[dict[str, Any]]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {ROUTE_TOKEN}"}
    results: list[dict[str, Any]] = []
    async with (
        httpx2.AsyncClient(trust_env=False, timeout=30, headers=headers) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        for _ in range(CALLS):
            args = {"prompt": CANARY_PROMPT, "model": "claude-sonnet-4-6", "jurisdiction": "US",
                    "data_class": "public"}  # fmt: skip
            answer = await client.call_tool(
                "complete", args, meta={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
            )
            assert not answer.is_error, answer
            assert answer.structured_content is not None
            results.append(answer.structured_content)
    return results


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import anyio

    home = tmp_path_factory.mktemp("telemetry")
    port = free_port()
    with FakeProviders() as fakes, Receiver() as receiver:
        fakes.anthropic.inject("claude-sonnet-4-6", Fault(status=429, retry_after=0))  # one retry: a try span
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYROUTE_", "OTEL_"))}
        env.update(fakes.env(), ANTHROPIC_API_KEY=CANARY_KEY, HOME=str(home))
        env.update(
            POLYROUTE_DATA_DIR=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
            POLYROUTE_AUDIT_WITNESS=str(home / "witness.json"),
            POLYROUTE_METRICS="1",
            POLYROUTE_HTTP_TOKENS=f"caller={ROUTE_TOKEN}:route;ops={OPS_TOKEN}:governance:read",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_SERVICE_NAME="polyroute-test",
            OTEL_BSP_SCHEDULE_DELAY="100", OTEL_METRIC_EXPORT_INTERVAL="300",
        )  # fmt: skip
        argv = [
            str(BIN / "polyroute"),
            "serve",
            "suite",
            "--http",
            "--port",
            str(port),
            "--log-format",
            "json",
        ]
        log = home / "server.log"
        with log.open("w+") as out:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            try:
                wait_listening(port, proc, within_s=60, log=log)
                url = f"http://127.0.0.1:{port}"
                served = Served(url, home, receiver)
                served.results = anyio.run(routed_calls, url)
                yield served
            finally:
                proc.terminate()
                proc.wait(15)


def metrics_text(url: str, token: str | None) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx2.Client(trust_env=False, timeout=10) as http:
        return http.get(f"{url}/metrics", headers=headers)


def test_metrics_need_governance_read(served: Served) -> None:
    assert metrics_text(served.url, None).status_code == 401
    assert metrics_text(served.url, ROUTE_TOKEN).status_code == 403
    answer = metrics_text(served.url, OPS_TOKEN)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for name in ("gen_ai_client_token_usage_sum", "gen_ai_client_operation_duration_seconds_count",
                 "polyroute_cost_usd_total", "polyroute_audit_head_sequence", "polyroute_breaker_state",
                 "polyroute_audit_append_duration_seconds_count"):  # fmt: skip
        assert name in text, name
    assert CANARY_PROMPT not in text and CANARY_KEY not in text


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if found is None:
        message = "Prometheus is not installed (Debian: apt-get install prometheus): real-scrape test not run"
        if os.environ.get("POLYROUTE_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def promql(base: str, query: str) -> list[dict[str, Any]]:
    with httpx2.Client(trust_env=False, timeout=10) as http:
        answer = http.get(f"{base}/api/v1/query", params={"query": query})
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def test_a_real_prometheus_scrapes_the_token_and_cost_totals(served: Served, tmp_path: Path) -> None:
    binary = prometheus_binary()
    port = free_port()
    target = served.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        f"  - job_name: polyroute\n    authorization:\n      type: Bearer\n      credentials: {OPS_TOKEN}\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    log = tmp_path / "prometheus.log"
    with log.open("w+") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            wait_listening(port, proc, within_s=60, log=log)
            base = f"http://127.0.0.1:{port}"
            want_in = sum(r["usage"]["input_tokens"] for r in served.results)
            want_out = sum(r["usage"]["output_tokens"] for r in served.results)
            want_cost = sum(float(r["cost_usd"]) for r in served.results)
            queries = {
                'sum(gen_ai_client_token_usage_sum{gen_ai_token_type="input",job="polyroute"})': want_in,
                'sum(gen_ai_client_token_usage_sum{gen_ai_token_type="output",job="polyroute"})': want_out,
                'sum(gen_ai_client_token_usage_count{gen_ai_token_type="input"})': CALLS,
                "sum(polyroute_cost_usd_total)": want_cost,
            }
            got: dict[str, float | None] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for query in queries:
                    result = promql(base, query)
                    got[query] = float(result[0]["value"][1]) if result else None
                if all(got[q] is not None and abs(got[q] - want) < 1e-9 for q, want in queries.items()):  # type: ignore[operator]
                    break
                time.sleep(0.5)
            assert got == pytest.approx(queries), log.read_text()[-2000:]
            assert want_in > 0 and want_out > 0 and want_cost > 0
        finally:
            proc.terminate()
            proc.wait(15)


def wait_for_spans(receiver: Receiver, names: set[str]) -> list[Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with receiver.lock:
            spans = list(receiver.spans)
        if (
            names <= {s.name for s in spans}
            and sum(s.name == "chat claude-sonnet-4-6" for s in spans) >= CALLS
        ):
            return spans
        time.sleep(0.2)
    raise AssertionError(f"spans received: {sorted({s.name for s in receiver.spans})}")


def test_otlp_spans_nest_call_attempt_try_and_append_under_the_client_trace(served: Served) -> None:
    spans = wait_for_spans(served.receiver, {"tools/call complete", "chat claude-sonnet-4-6",
                                             "polyroute.try", "polyroute.audit.append"})  # fmt: skip
    by_id = {s.span_id: s for s in spans}
    calls = [s for s in spans if s.name == "chat claude-sonnet-4-6" and attributes(s).get("polyroute.tool")]
    assert len(calls) == CALLS
    for call in calls:
        assert call.trace_id.hex() == TRACE_ID  # the client's traceparent, via the SDK's server span
        server = by_id[call.parent_span_id]
        assert server.name == "tools/call complete" and server.parent_span_id.hex() == PARENT_ID
        attrs = attributes(call)
        assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "anthropic"
        assert attrs["gen_ai.request.model"] == "claude-sonnet-4-6"
        assert attrs["gen_ai.response.model"] == "claude-sonnet-4-6"
        assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
        assert attrs["gen_ai.request.max_tokens"] == 1024
        assert attrs["polyroute.jurisdiction"] == "US" and attrs["polyroute.data_class"] == "public"
        assert attrs["polyroute.receipt_id"] and attrs["polyroute.policy_version"]
        assert attrs["polyroute.residency_mismatch"] is False
        assert attrs["polyroute.cost.actual_usd"] > 0 and attrs["polyroute.cost.expected_usd"] > 0
        children = [s for s in spans if s.parent_span_id == call.span_id]
        assert {c.name for c in children} == {"chat claude-sonnet-4-6", "polyroute.audit.append"}
        attempt = next(c for c in children if c.name == "chat claude-sonnet-4-6")
        assert attempt.kind == 3  # SPAN_KIND_CLIENT
        assert attributes(attempt)["polyroute.deployment"] == attrs["polyroute.deployment"]
        inside = [s for s in spans if s.parent_span_id == attempt.span_id]
        assert any(t.name == "polyroute.try" for t in inside)  # and the vendor SDK's own spans, if any
    retried = [s for s in spans if s.name == "polyroute.try" and attributes(s)["polyroute.try"] == 2]
    assert len(retried) == 1  # the injected 429 was retried once, in one call


def test_otlp_metrics_follow_the_genai_conventions(served: Served) -> None:
    deadline = time.monotonic() + 20
    names: set[str] = set()
    while time.monotonic() < deadline:
        names = {m.name for m in served.receiver.metrics}
        if {"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "polyroute.cost.usd"} <= names:
            break
        time.sleep(0.2)
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "polyroute.cost.usd"} <= names
    usage = next(m for m in served.receiver.metrics if m.name == "gen_ai.client.token.usage")
    assert usage.unit == "{token}" and usage.histogram.data_points
    types = {attributes(p)["gen_ai.token.type"] for p in usage.histogram.data_points}
    assert types == {"input", "output"}


def test_no_canary_in_spans_metrics_or_logs(served: Served) -> None:
    wait_for_spans(served.receiver, {"polyroute.audit.append"})
    blobs = b"".join(served.receiver.raw)
    assert blobs and CANARY_PROMPT.encode() not in blobs and CANARY_KEY.encode() not in blobs
    assert b"canary-prompt" not in blobs and b"CANARYKEY" not in blobs


def test_json_logs_carry_trace_ids_and_no_canary(served: Served) -> None:
    lines = [line for line in served.log.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert entries, served.log
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    routed = [e for e in entries if e["logger"] == "polyroute.dispatch"]
    assert len(routed) == CALLS and all(e["message"].startswith("routed call ") for e in routed)
    assert all(e.get("trace_id") == TRACE_ID and e.get("span_id") for e in routed), routed
    assert "canary-prompt" not in served.log and "CANARYKEY" not in served.log
