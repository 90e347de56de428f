"""Telemetry seam: what the dispatcher reports about a routed call, and the no-op default.

Off by default and free when off: `NOOP` answers every call with the same do-nothing objects (no
allocation, no import of OpenTelemetry). `telemetry_for(settings)` returns the OpenTelemetry
implementation (`polyroute.telemetry.otel`, extra `otel`) only when something would read it:
OTLP export (`OTEL_EXPORTER_OTLP_ENDPOINT`) or Prometheus `/metrics` (`POLYROUTE_METRICS=1`,
`[telemetry] prometheus`). docs/observability.md lists what is exported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from polyroute.errors import ConfigError

if TYPE_CHECKING:
    from polyroute.routing import Candidate, RoutedCompletion, RoutePlan, Router, RouteRequest
    from polyroute.settings import Settings
    from polyroute.types import Attempt, Completion, Money

__all__ = ["NOOP", "NO_CALL", "AppendTrace", "AttemptTrace", "CallTrace", "Telemetry", "telemetry_for"]


class AttemptTrace:
    """One candidate tried (the first, or a fallback); the provider layer's retries are its tries."""

    def tried(self, attempts: Sequence[Attempt], completion: Completion | None, cost: Money | None) -> None:
        """How the candidate's tries ended; `completion` is None when they all failed."""

    def end(self, error: BaseException | None = None) -> None:
        """Close the attempt; `error` when it raised (e.g. cancelled)."""


_NO_ATTEMPT = AttemptTrace()


class CallTrace:
    """One routed call: its plan, its attempts, its audit appends and how it ended."""

    def __enter__(self) -> CallTrace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Ends the call; an exception leaving the dispatcher is its `error.type`."""

    def planned(self, plan: RoutePlan) -> None:
        """The routing decision (classification, policy version, strategy, first candidate)."""

    def attempt(self, candidate: Candidate, index: int) -> AttemptTrace:
        """Start trying `candidate` (index 0 is the first choice; more are fallbacks)."""
        return _NO_ATTEMPT

    def appending(self, event_type: str) -> AppendTrace:
        """Time an audit append (the durable intent, or a refusal) as a child of the call."""
        return _NO_APPEND

    def finished(self, result: RoutedCompletion, completion: Completion) -> None:
        """The call succeeded: usage, response model, actual cost, receipt id, residency mismatch."""


class AppendTrace:
    """Times one audit append; `done(seq)` gives the sequence number it got (the chain head)."""

    def __enter__(self) -> AppendTrace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def done(self, seq: int | None) -> None:
        """The event is stored with sequence number `seq` (None: durable in the journal, chained later)."""


_NO_APPEND = AppendTrace()
NO_CALL = CallTrace()


class Telemetry:
    """The dispatcher's collaborator. This base class is the no-op: every hook returns at once."""

    enabled = False

    def call(self, router: Router, request: RouteRequest) -> CallTrace:
        """A trace for one routed call, used as a context manager around the dispatch."""
        return NO_CALL

    def exposition(self) -> tuple[bytes, str]:
        """Prometheus text of the metrics and its content type (empty for the no-op)."""
        return b"", "text/plain; version=0.0.4; charset=utf-8"

    def shutdown(self) -> None:
        """Flush and stop exporters (the no-op has none)."""


NOOP = Telemetry()


def otlp_configured(env: Mapping[str, str]) -> bool:
    """OTLP export is on when the standard endpoint variable (or a per-signal one) is set."""
    names = (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    )
    return any(env.get(name) for name in names) and env.get("OTEL_SDK_DISABLED", "").lower() != "true"


def telemetry_for(settings: Settings, env: Mapping[str, str] | None = None) -> Telemetry:
    """NOOP unless OTLP or Prometheus is asked for; then the OpenTelemetry one (needs extra `otel`)."""
    env = os.environ if env is None else env
    otlp = otlp_configured(env)
    if not otlp and not settings.telemetry.prometheus:
        return NOOP
    try:
        from polyroute.telemetry.otel import OtelTelemetry
    except ImportError as error:
        raise ConfigError(
            f"telemetry is on ({'OTEL_EXPORTER_OTLP_ENDPOINT' if otlp else 'Prometheus metrics'}) but the "
            f"OpenTelemetry SDK is not installed ({error.name}): pip install 'polyroute[otel]'"
        ) from None
    return OtelTelemetry.configured(settings, otlp=otlp)
