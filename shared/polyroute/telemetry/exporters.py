"""Building the OpenTelemetry providers the standard way: OTLP from the `OTEL_*` variables, Prometheus
from `[telemetry] prometheus` / `POLYROUTE_METRICS`.

The OTLP/HTTP exporters read `OTEL_EXPORTER_OTLP_ENDPOINT`, `…_HEADERS`, `…_TIMEOUT` themselves; the
resource reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` (service name `polyroute` unless
those name one). The tracer provider becomes the process's global one when none is set yet, so the MCP
SDK's server spans (which continue a client's `traceparent`) are exported and ours nest under them.
"""

from __future__ import annotations

import os

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from polyroute.settings import Settings


def _resource() -> Resource:
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return Resource.create({} if named else {"service.name": "polyroute"})


def build_providers(settings: Settings, *, otlp: bool) -> tuple[TracerProvider, MeterProvider]:
    resource = _resource()
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    if otlp:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if settings.telemetry.prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader())  # registers with prometheus_client's default registry
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def prometheus_text() -> tuple[bytes, str]:
    """The Prometheus exposition of every registered metric, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
