"""The OpenTelemetry implementation in process: spans, their parents and attributes, the metrics, and
when content may go on a span — real SDKs against the loopback fakes, spans and metrics read back from
the OpenTelemetry SDK's in-memory exporter and reader."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from polyroute.app import App
from polyroute.dispatch import dispatch
from polyroute.errors import PolicyDenied
from polyroute.routing import RoutedCompletion, RouteRequest
from polyroute.settings import Settings, load_settings
from polyroute.telemetry import NOOP, telemetry_for
from polyroute.telemetry.otel import OtelTelemetry
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest
from polyroute_servers.logformat import JsonFormatter

PROMPT = "canary-prompt-41d7 summarise this"


class Observed:
    def __init__(self, **options: Any) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = OtelTelemetry(
            tracer_provider, MeterProvider(metric_readers=[self.reader]), **options
        )

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for m in scope.metrics
            if m.name == metric
            for point in m.data.data_points
        ]


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def route(**fields: object) -> RouteRequest:
    request = CompletionRequest.from_prompt(PROMPT, max_tokens=100)
    return RouteRequest.model_validate({"request": request, "principal": "local:tester", **fields})


def run(app: App, observed: Observed, request: RouteRequest) -> RoutedCompletion:
    async def go() -> RoutedCompletion:
        try:
            return await dispatch(app.router, request, telemetry=observed.telemetry)
        finally:
            await app.aclose()

    return asyncio.run(go())


def test_off_unless_asked_for(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert App(settings).telemetry is NOOP and telemetry_for(settings, {}) is NOOP
    assert (
        telemetry_for(settings, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"})
        is NOOP
    )
    assert load_settings({"POLYROUTE_METRICS": "1"}).telemetry.prometheus is True
    assert load_settings({"POLYROUTE_METRICS": "0"}).telemetry.prometheus is False


def test_telemetry_table_in_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telemetry]\nprometheus = true\ncapture_content = true\ncontent_locations = ["DE"]\n')
    telemetry = load_settings({"POLYROUTE_CONFIG": str(config)}).telemetry
    assert telemetry.prometheus and telemetry.capture_content and telemetry.content_locations == ["DE"]
    config.write_text("[telemetry]\nprometheus_port = 9\n")
    from polyroute.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown key 'telemetry.prometheus_port'"):
        load_settings({"POLYROUTE_CONFIG": str(config)})


def test_a_fallback_is_a_second_candidate_span_and_retries_are_try_spans(
    app: App, fakes: FakeProviders
) -> None:
    fakes.anthropic.inject("sa-cheap-model", Fault(status=529, retry_after=0, times=3))
    observed = Observed()
    result = run(app, observed, route(jurisdiction="SA", data_class="personal", strategy="cheapest"))
    [call] = observed.named("chat")
    assert call.kind == SpanKind.INTERNAL and call.attributes is not None
    assert call.attributes["polyroute.deployment"] == result.deployment == "sa-mid"
    assert (
        call.attributes["polyroute.fallbacks"] == 1
        and call.attributes["polyroute.verdict.rule"] == "SA/personal"
    )
    assert call.attributes["gen_ai.provider.name"] == "openai_compatible"
    first, second = sorted(
        (s for s in observed.spans.get_finished_spans() if s.kind == SpanKind.CLIENT),
        key=lambda s: str((s.attributes or {})["polyroute.attempt.index"]),
    )
    assert first.name == "chat sa-cheap-model" and second.name == "chat sa-mid-model"
    call_id = span_id(call)
    assert first.parent is not None and first.parent.span_id == call_id
    assert first.attributes is not None and first.attributes["error.type"] == "529"
    assert second.attributes is not None and second.attributes["polyroute.attempt.fallback"] is True
    tries = [s for s in observed.named("polyroute.try") if s.parent and s.parent.span_id == span_id(first)]
    assert len(tries) == 3 and all(t.attributes and t.attributes["polyroute.try.retryable"] for t in tries)
    [append] = observed.named("polyroute.audit.append")
    assert append.parent is not None and append.parent.span_id == call_id
    assert [p.value for p in observed.points("polyroute.fallbacks")] == [1]
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in observed.points("gen_ai.client.token.usage")}
    assert tokens == {"input": result.usage.input_tokens, "output": result.usage.output_tokens}
    [cost] = observed.points("polyroute.cost.usd")
    assert cost.value == pytest.approx(float(result.cost_usd))
    breakers = {
        p.attributes["polyroute.deployment"]: p.value for p in observed.points("polyroute.breaker.state")
    }
    assert breakers == {"sa-cheap": 0, "sa-mid": 0}  # one failed call does not open a breaker of 2
    assert [p.value for p in observed.points("polyroute.audit.head.sequence")] == [1]


def test_a_refusal_has_an_error_type_a_counted_reason_and_no_candidate_span(app: App) -> None:
    observed = Observed()
    with pytest.raises(PolicyDenied):
        run(app, observed, route(model="de-cheapest", jurisdiction="SA", data_class="personal"))
    [call] = observed.named("chat de-cheapest")
    assert call.attributes is not None and call.attributes["error.type"] == "PolicyDenied"
    assert not [s for s in observed.spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    [append] = observed.named("polyroute.audit.append")
    assert append.attributes is not None and append.attributes["polyroute.audit.event_type"] == "refusal"
    [refused] = observed.points("polyroute.refusals")
    assert refused.value == 1 and refused.attributes["polyroute.reason"] == "PolicyDenied"
    [duration] = observed.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "PolicyDenied" and duration.count == 1


@pytest.mark.parametrize(
    ("capture", "locations", "captured"),
    [(False, ["SA"], False), (True, [], False), (True, ["DE"], False), (True, ["SA"], True)],
)
def test_content_goes_on_spans_only_when_asked_and_where_the_calls_data_may_go(
    app: App, capture: bool, locations: list[str], captured: bool
) -> None:
    observed = Observed(capture_content=capture, content_locations=locations)
    run(app, observed, route(jurisdiction="SA", data_class="personal", strategy="cheapest"))
    exported = "".join(json.dumps(dict(s.attributes or {})) for s in observed.spans.get_finished_spans())
    assert (PROMPT in exported) is captured
    [call] = observed.named("chat")
    assert ("gen_ai.output.messages" in (call.attributes or {})) is captured


def test_json_log_lines_carry_the_current_trace_and_span_ids() -> None:
    observed = Observed()
    tracer = observed.telemetry.tracer
    with tracer.start_as_current_span("outer") as span:
        record = logging.LogRecord("polyroute.x", logging.WARNING, __file__, 1, "retrying %s", ("d",), None)
        line = json.loads(JsonFormatter().format(record))
    context = span.get_span_context()
    assert line["message"] == "retrying d" and line["level"] == "warning"
    assert line["trace_id"] == format(context.trace_id, "032x") and line["span_id"] == format(
        context.span_id, "016x"
    )
    outside = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in outside


def test_telemetry_asked_for_without_the_otel_extra_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from polyroute.errors import ConfigError

    monkeypatch.setitem(sys.modules, "polyroute.telemetry.otel", None)  # as if the SDK were not installed
    settings = load_settings({"POLYROUTE_METRICS": "1"})
    with pytest.raises(ConfigError, match=r"pip install 'polyroute\[otel\]'"):
        telemetry_for(settings, {})
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        telemetry_for(Settings(data_dir=tmp_path), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
