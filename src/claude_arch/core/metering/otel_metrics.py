"""GenAI client metrics through the OpenTelemetry metrics API (a no-op when it is not installed).

    meter = OTelMeter()                        # the global meter provider, as configured by the app
    client = ClaudeClient(meters=[PrometheusMeter(), meter])

Records ``gen_ai.client.operation.duration`` (seconds, every call; ``error.type`` on failures) and
``gen_ai.client.token.usage`` (tokens of successful calls, ``gen_ai.token.type`` input or output,
input including cache reads and writes as the conventions ask), with the bucket boundaries the
conventions recommend. Model labels are bounded like Prometheus ones.
"""

from __future__ import annotations

from typing import Any

from claude_arch.core.metering.labels import BoundedLabels
from claude_arch.core.metering.spans import PROVIDER, genai_operation, total_input
from claude_arch.core.pricing.catalog import Catalog
from claude_arch.core.types import UsageRecord

__all__ = ["OTelMeter"]

TOKEN_BUCKETS = [4.0**i for i in range(14)]  # 1, 4, 16 … 67,108,864
DURATION_BUCKETS = [0.01 * 2.0**i for i in range(14)]  # 0.01, 0.02 … 81.92


class OTelMeter:
    """A :class:`~claude_arch.core.metering.Meter` writing the GenAI client metrics."""

    def __init__(self, meter_provider: Any = None, *, catalog: Catalog | None = None) -> None:
        self._labels = BoundedLabels(catalog)
        self._tokens: Any = None
        self._duration: Any = None
        try:
            from opentelemetry import metrics
        except ImportError:
            return
        meter = metrics.get_meter("claude_arch", meter_provider=meter_provider)
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )

    def record(self, record: UsageRecord) -> None:
        if self._duration is None:
            return
        labels = self._labels
        attributes: dict[str, str] = {
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.operation.name": genai_operation(labels.operation(record.operation)),
            "gen_ai.request.model": labels.model(record.fallback_from or record.model),
        }
        if record.error_type:
            attributes["error.type"] = labels.error_type(record.error_type)
        else:
            attributes["gen_ai.response.model"] = labels.model(record.model)
        self._duration.record(record.latency_s, attributes)
        if record.error_type:
            return
        usage = record.usage
        self._tokens.record(total_input(usage), {**attributes, "gen_ai.token.type": "input"})
        self._tokens.record(usage.output_tokens, {**attributes, "gen_ai.token.type": "output"})
