"""The OpenTelemetry implementation: GenAI spans and metrics for routed calls (extra `otel`).

Spans: the call (`chat` or `chat {pinned model}`, kind INTERNAL) → one CLIENT span per candidate tried
(`chat {model}`; a fallback is a second one) → one span per provider try inside it (`polyroute.try`,
laid out from the provider layer's timings) — and the durable audit append (`polyroute.audit.append`).
Spans start in the current OpenTelemetry context, so they nest under the MCP SDK's own server span,
which continues the `traceparent` a client sends in `_meta`. Prompt and completion text go on a span
only when `content.allowed` says so (docs/observability.md: capture is opt-in and a destination).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, StatusCode, TracerProvider

from polyroute.telemetry import AppendTrace, AttemptTrace, CallTrace, Telemetry
from polyroute.telemetry.instruments import BREAKER_STATES, Instruments

if TYPE_CHECKING:
    from polyroute.routing import Candidate, RoutedCompletion, RoutePlan, Router, RouteRequest
    from polyroute.settings import Settings
    from polyroute.types import Attempt, Completion, Money

SCOPE = "polyroute"


def _error_type(error: BaseException) -> str:
    return type(error).__name__


class OtelTelemetry(Telemetry):
    """Spans from `tracer_provider`, metrics from `meter_provider`; `prometheus` renders `/metrics`."""

    enabled = True

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        *,
        capture_content: bool = False,
        content_locations: Sequence[str] = (),
    ) -> None:
        from polyroute import __version__

        self.tracer = tracer_provider.get_tracer(SCOPE, __version__)
        self.metrics = Instruments(meter_provider.get_meter(SCOPE, __version__))
        self.capture_content = capture_content
        self.content_locations = list(content_locations)
        self._providers = (tracer_provider, meter_provider)

    @classmethod
    def configured(cls, settings: Settings, *, otlp: bool) -> OtelTelemetry:
        from polyroute.telemetry.exporters import build_providers

        tracer_provider, meter_provider = build_providers(settings, otlp=otlp)
        return cls(
            tracer_provider, meter_provider,
            capture_content=settings.telemetry.capture_content,
            content_locations=settings.telemetry.content_locations,
        )  # fmt: skip

    def call(self, router: Router, request: RouteRequest) -> CallTrace:
        return _Call(self, router, request)

    def exposition(self) -> tuple[bytes, str]:
        from polyroute.telemetry.exporters import prometheus_text

        return prometheus_text()

    def shutdown(self) -> None:
        for provider in self._providers:
            stop = getattr(provider, "shutdown", None)
            if stop is not None:
                stop()


class _Call(CallTrace):
    def __init__(self, telemetry: OtelTelemetry, router: Router, request: RouteRequest) -> None:
        self.telemetry, self.router, self.request = telemetry, router, request
        self.metric_attributes: dict[str, Any] = {"gen_ai.operation.name": "chat"}
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.max_tokens": request.request.max_tokens,
            "polyroute.tool": request.tool or "complete",
        }
        if request.model:
            attributes["gen_ai.request.model"] = request.model
            self.metric_attributes["gen_ai.request.model"] = request.model
        name = f"chat {request.model}" if request.model else "chat"
        self.span: Span = telemetry.tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes)
        self.plan: RoutePlan | None = None
        self.started = time.perf_counter()
        self._token: object = None

    def __enter__(self) -> CallTrace:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        attributes = dict(self.metric_attributes)
        if error is not None:
            attributes["error.type"] = _error_type(error)
            self.span.set_attribute("error.type", _error_type(error))
            self.span.set_status(StatusCode.ERROR, _error_type(error))
            self.telemetry.metrics.refusals.add(1, {"polyroute.reason": _error_type(error)})
        self.telemetry.metrics.duration.record(time.perf_counter() - self.started, attributes)
        self.span.end()
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]

    def planned(self, plan: RoutePlan) -> None:
        self.plan = plan
        self.span.set_attributes({
            "polyroute.jurisdiction": plan.jurisdiction,
            "polyroute.data_class": plan.data_class,
            "polyroute.classification_defaulted": plan.classification_defaulted,
            "polyroute.policy_version": plan.policy_version,
            "polyroute.strategy": plan.strategy,
            "polyroute.candidates": len(plan.candidates),
            "polyroute.exclusions": len(plan.exclusions),
            "gen_ai.usage.input_tokens.estimated": plan.input_tokens,
        })  # fmt: skip
        if plan.candidates:
            self.span.set_attribute(
                "polyroute.cost.expected_usd", float(plan.candidates[0].expected_cost_usd)
            )
        headroom = self.router.budgets.headroom(self.request.principal, self.request.teams)
        if headroom is not None:
            self.telemetry.metrics.headroom.set(float(headroom.left), {"polyroute.budget": headroom.key.name})

    def attempt(self, candidate: Candidate, index: int) -> AttemptTrace:
        if index:
            self.telemetry.metrics.fallbacks.add(1, {"gen_ai.provider.name": candidate.provider})
        return _Attempt(self, candidate, index)

    def appending(self, event_type: str) -> AppendTrace:
        return _Append(self, event_type)

    def finished(self, result: RoutedCompletion, completion: Completion) -> None:
        plan = self.plan
        verdict = None
        if plan is not None:
            deployment = self.router.app.catalog.get(result.deployment)
            verdict = self.router.verdict(plan.jurisdiction, plan.data_class, deployment)
        self.span.set_attributes({
            "gen_ai.provider.name": result.provider,
            "gen_ai.response.model": result.model,
            "gen_ai.usage.input_tokens": result.usage.input_tokens,
            "gen_ai.usage.output_tokens": result.usage.output_tokens,
            "polyroute.deployment": result.deployment,
            "polyroute.verdict.rule": (verdict.rule if verdict else None) or "",
            "polyroute.cost.expected_usd": float(result.estimated_cost_usd),
            "polyroute.cost.actual_usd": float(result.cost_usd),
            "polyroute.receipt_id": result.receipt_id,
            "polyroute.residency_mismatch": result.residency_mismatch,
            "polyroute.fallbacks": len({a.deployment for a in result.attempts}) - 1,
        })  # fmt: skip
        if self._content_allowed(result):
            self.span.set_attributes({
                "gen_ai.input.messages": self.request.request.model_dump_json(include={"messages", "system"}),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                    {"type": "text", "content": result.text}]}]),
            })  # fmt: skip
        self.metric_attributes.update(
            {"gen_ai.provider.name": result.provider, "gen_ai.response.model": result.model}
        )
        metrics = self.telemetry.metrics
        metrics.used(self.metric_attributes, result.usage.input_tokens, result.usage.output_tokens)
        cost_attributes = {"gen_ai.provider.name": result.provider, "polyroute.deployment": result.deployment}
        metrics.cost.add(float(result.cost_usd), cost_attributes)

    def _content_allowed(self, result: RoutedCompletion) -> bool:
        """Opt-in, and the telemetry backend's declared locations must pass the call's own residency rule
        (a span exporter is a destination too); no declared location means never."""
        telemetry, plan = self.telemetry, self.plan
        if not telemetry.capture_content or not telemetry.content_locations or plan is None:
            return False
        deployment = self.router.app.catalog.get(result.deployment)
        backend = deployment.model_copy(update={"processing_locations": telemetry.content_locations})
        return self.router.judge(plan.jurisdiction, plan.data_class, backend).allowed


class _Attempt(AttemptTrace):
    def __init__(self, call: _Call, candidate: Candidate, index: int) -> None:
        self.call, self.candidate = call, candidate
        self.started_ns = time.time_ns()
        self.span = call.telemetry.tracer.start_span(
            f"chat {candidate.model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": candidate.provider,
                "gen_ai.request.model": candidate.model,
                "gen_ai.request.max_tokens": call.request.request.max_tokens,
                "polyroute.deployment": candidate.deployment,
                "polyroute.attempt.index": index,
                "polyroute.attempt.fallback": index > 0,
                "polyroute.cost.expected_usd": float(candidate.expected_cost_usd),
            },
        )
        self._token = otel_context.attach(trace.set_span_in_context(self.span))  # SDK spans nest here

    def tried(self, attempts: Sequence[Attempt], completion: Completion | None, cost: Money | None) -> None:
        self._tries(attempts)
        if completion is not None:
            self.span.set_attributes({
                "gen_ai.response.model": completion.model,
                "gen_ai.usage.input_tokens": completion.usage.input_tokens,
                "gen_ai.usage.output_tokens": completion.usage.output_tokens,
                "polyroute.cost.actual_usd": float(cost) if cost is not None else 0.0,
            })  # fmt: skip
        elif attempts:
            last = attempts[-1]
            self.span.set_attribute("error.type", str(last.status) if last.status else "ProviderError")
            self.span.set_status(StatusCode.ERROR, "the candidate failed")
        state = self.call.router.health.state(self.candidate.deployment)
        self.call.telemetry.metrics.breaker.set(
            BREAKER_STATES.get(state, 2), {"polyroute.deployment": self.candidate.deployment}
        )

    def _tries(self, attempts: Sequence[Attempt]) -> None:
        """One child span per provider try, placed from the recorded latencies: the first starts with the
        attempt, the last ends now (the pauses between retries are the gaps)."""
        tracer, parent = self.call.telemetry.tracer, trace.set_span_in_context(self.span)
        now, start = time.time_ns(), self.started_ns
        for number, tried in enumerate(attempts):
            length = int(tried.latency_ms * 1e6)
            if number == len(attempts) - 1:
                start = max(start, now - length)
            span = tracer.start_span(
                "polyroute.try", context=parent, kind=SpanKind.INTERNAL, start_time=start,
                attributes={"polyroute.try": number + 1, "polyroute.deployment": tried.deployment,
                            "polyroute.try.ok": tried.ok, "polyroute.try.retryable": tried.retryable},
            )  # fmt: skip
            if not tried.ok:
                span.set_attribute("error.type", str(tried.status) if tried.status else "ProviderError")
                span.set_status(StatusCode.ERROR)
            span.end(end_time=start + length)
            start += length

    def end(self, error: BaseException | None = None) -> None:
        otel_context.detach(self._token)
        if error is not None:
            self.span.set_attribute("error.type", _error_type(error))
            self.span.set_status(StatusCode.ERROR, _error_type(error))
        self.span.end()


class _Append(AppendTrace):
    def __init__(self, call: _Call, event_type: str) -> None:
        self.call = call
        self.span = call.telemetry.tracer.start_span(
            "polyroute.audit.append", attributes={"polyroute.audit.event_type": event_type}
        )
        self.started = time.perf_counter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if error is not None:
            self.span.set_attribute("error.type", _error_type(error))
            self.span.set_status(StatusCode.ERROR, _error_type(error))
        self.call.telemetry.metrics.append.record(time.perf_counter() - self.started)
        self.span.end()

    def done(self, seq: int | None) -> None:
        if seq is None:  # journaled: the chain head moves with the next group commit
            self.span.set_attribute("polyroute.audit.journaled", True)
            return
        self.span.set_attribute("polyroute.audit.seq", seq)
        self.call.telemetry.metrics.head.set(seq)
