"""Metering: every call's :class:`UsageRecord` goes to meters, and the call runs in a GenAI span.

    meter = PrometheusMeter()                 # its own registry: clients and tests never collide
    client = ClaudeClient(meters=[meter])     # the client calls meter.record(record) once per call
    body = meter.render()                     # Prometheus text for a /metrics endpoint

Meters: :class:`PrometheusMeter` (``claude_arch_*`` metrics), :class:`OTelMeter` (the GenAI client
metrics of OpenTelemetry), :class:`RecordingMeter` (in memory, for tests), :class:`MultiMeter`
(fan-out) and :class:`ScopedMeter` (the records of one block of code, e.g. one request).
Labels are bounded (a model outside the catalog, an unknown operation or error type is ``other``)
so a misbehaving caller cannot explode cardinality.

Spans follow the OpenTelemetry GenAI semantic conventions when ``opentelemetry-api`` is installed,
and cost nothing when it is not:

    with span_for("create", "claude-haiku-4-5", max_tokens=1024) as span:
        message = await send(...)
        span.record_message(message)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_arch.core.metering.labels import BoundedLabels
    from claude_arch.core.metering.meters import Meter, MultiMeter, RecordingMeter
    from claude_arch.core.metering.otel_metrics import OTelMeter
    from claude_arch.core.metering.prometheus import PrometheusMeter
    from claude_arch.core.metering.scoped import ScopedMeter
    from claude_arch.core.metering.spans import GenAISpan, OTelTracer, span_for

__all__ = [
    "BoundedLabels",
    "GenAISpan",
    "Meter",
    "MultiMeter",
    "OTelMeter",
    "OTelTracer",
    "PrometheusMeter",
    "RecordingMeter",
    "ScopedMeter",
    "span_for",
]

# Each name loads its module on first use: spans alone must not pay for prometheus_client.
_WHERE = {
    "BoundedLabels": "labels",
    "GenAISpan": "spans",
    "Meter": "meters",
    "MultiMeter": "meters",
    "OTelMeter": "otel_metrics",
    "OTelTracer": "spans",
    "PrometheusMeter": "prometheus",
    "RecordingMeter": "meters",
    "ScopedMeter": "scoped",
    "span_for": "spans",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
