"""The metrics: the GenAI client conventions' two histograms, and Polyroute's own counters and gauges.

Bucket boundaries are the conventions' advice (gen_ai.client.token.usage, .operation.duration). Under
Prometheus the names become `gen_ai_client_token_usage_*`, `gen_ai_client_operation_duration_seconds_*`,
`polyroute_cost_usd_total`, … (docs/observability.md lists them all).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.metrics import Meter
from opentelemetry.util.types import AttributeValue

TOKEN_BUCKETS = [4**n for n in range(14)]  # 1, 4, 16 … 67108864
DURATION_BUCKETS = [0.01 * 2**n for n in range(14)]  # 0.01 s … 81.92 s
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}

Attributes = Mapping[str, AttributeValue]


class Instruments:
    """Every instrument, created once per meter."""

    def __init__(self, meter: Meter) -> None:
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per call, by token type",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )  # fmt: skip
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Duration of routed calls",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )  # fmt: skip
        self.cost = meter.create_counter(
            "polyroute.cost.usd", unit="{USD}", description="Actual cost of completed calls in US dollars"
        )
        self.refusals = meter.create_counter(
            "polyroute.refusals", unit="{call}", description="Routed calls that got no completion, by reason"
        )
        self.fallbacks = meter.create_counter(
            "polyroute.fallbacks", unit="{attempt}", description="Candidates tried after the first one"
        )
        self.breaker = meter.create_gauge(
            "polyroute.breaker.state", unit="1", description="Circuit breaker: 0 closed, 1 half-open, 2 open"
        )
        self.headroom = meter.create_gauge(
            "polyroute.budget.headroom",
            unit="{USD}",
            description="Budget left for new calls (tightest budget)",
        )
        self.append = meter.create_histogram(
            "polyroute.audit.append.duration", unit="s", description="Durable audit appends",
            explicit_bucket_boundaries_advisory=[0.0005 * 2**n for n in range(14)],
        )  # fmt: skip
        self.head = meter.create_gauge(
            "polyroute.audit.head.sequence",
            unit="1",
            description="Sequence number of the newest durable event",
        )

    def used(self, attributes: Attributes, input_tokens: int, output_tokens: int) -> None:
        self.tokens.record(input_tokens, {**attributes, "gen_ai.token.type": "input"})
        self.tokens.record(output_tokens, {**attributes, "gen_ai.token.type": "output"})
