"""Metering: every call's :class:`UsageRecord` goes to meters (Prometheus, tests) and a GenAI span.

    meter = PrometheusMeter()                 # its own registry: clients and tests never collide
    client = ClaudeClient(meters=[meter])     # the client calls meter.record(record) once per call
    body = meter.render()                     # Prometheus text for a /metrics endpoint

Metric names start with ``claude_arch_``; labels are bounded (a model outside the catalog, an
unknown operation or error type is ``other``) so a misbehaving caller cannot explode cardinality.

Spans follow the OpenTelemetry GenAI semantic conventions when ``opentelemetry-api`` is installed,
and cost nothing when it is not:

    with span_for("create", "claude-haiku-4-5", max_tokens=1024) as span:
        message = await send(...)
        span.record_message(message)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from claude_arch.core.catalog import Catalog, default_catalog
from claude_arch.core.types import Message, Usage, UsageRecord
from claude_arch.errors import ClaudeArchError

__all__ = [
    "GenAISpan",
    "Meter",
    "MultiMeter",
    "OTelTracer",
    "PrometheusMeter",
    "RecordingMeter",
    "span_for",
]

log = logging.getLogger(__name__)

PROVIDER = "anthropic"
OTHER = "other"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
THROTTLED_STATUSES = frozenset({429, 529})
OPERATIONS = frozenset({"create", "stream", "count_tokens", "batch"})


def _error_types() -> frozenset[str]:
    seen: set[str] = set()
    stack: list[type[ClaudeArchError]] = [ClaudeArchError]
    while stack:
        cls = stack.pop()
        seen.add(cls.error_type)
        stack.extend(cls.__subclasses__())
    return frozenset(seen)


@runtime_checkable
class Meter(Protocol):
    """Anything that takes usage records: ``record`` is called once per finished call."""

    def record(self, record: UsageRecord) -> None: ...


@dataclass
class RecordingMeter:
    """Keeps every record in memory, for users' tests.

    >>> meter = RecordingMeter()
    >>> meter.record(UsageRecord(model="claude-haiku-4-5", usage=Usage(10, 5)))
    >>> meter.total_tokens, len(meter.records)
    (15, 1)
    """

    records: list[UsageRecord] = field(default_factory=list)

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)

    @property
    def total_tokens(self) -> int:
        return sum(r.usage.input_tokens + r.usage.output_tokens for r in self.records)

    @property
    def total_cost(self) -> Decimal:
        return sum((r.cost_usd for r in self.records), start=Decimal(0))

    def clear(self) -> None:
        self.records.clear()


class MultiMeter:
    """Hands each record to several meters; one failing meter never breaks a call or the others."""

    def __init__(self, meters: Iterable[Meter] = ()) -> None:
        self.meters: list[Meter] = list(meters)

    def add(self, meter: Meter) -> None:
        self.meters.append(meter)

    def record(self, record: UsageRecord) -> None:
        for meter in self.meters:
            try:
                meter.record(record)
            except Exception:
                log.exception("meter %r failed on a usage record; metering continues", meter)


class PrometheusMeter:
    """Prometheus counters and histograms of calls, by model and operation.

    ``claude_arch_requests_total{model,operation,status,error_type}``,
    ``claude_arch_tokens_total{model,operation,kind}`` (kind: input, output, cache_read,
    cache_write), ``claude_arch_cost_usd_total{model,operation}``,
    ``claude_arch_request_duration_seconds{model,operation}``,
    ``claude_arch_time_to_first_token_seconds{model,operation}``,
    ``claude_arch_retries_total{model,operation}`` (attempts beyond the first) and
    ``claude_arch_throttled_total{model,operation,status}`` (calls that ended in 429 or 529).
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, catalog: Catalog | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._catalog = catalog if catalog is not None else default_catalog()
        self._error_types = _error_types()
        reg = self.registry
        mo = ("model", "operation")
        self.requests = Counter(
            "claude_arch_requests",
            "Calls to the Messages API, by final status and error type.",
            (*mo, "status", "error_type"),
            registry=reg,
        )
        self.tokens = Counter(
            "claude_arch_tokens", "Tokens used, by kind.", (*mo, "kind"), registry=reg
        )
        self.cost = Counter("claude_arch_cost_usd", "Cost in US dollars.", mo, registry=reg)
        self.latency = Histogram(
            "claude_arch_request_duration_seconds",
            "Wall time of a call, retries included.",
            mo,
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.ttft = Histogram(
            "claude_arch_time_to_first_token_seconds",
            "Time to the first streamed token.",
            mo,
            buckets=TTFT_BUCKETS,
            registry=reg,
        )
        self.retries = Counter(
            "claude_arch_retries", "Attempts beyond the first.", mo, registry=reg
        )
        self.throttled = Counter(
            "claude_arch_throttled",
            "Calls that ended in 429 (rate limited) or 529 (overloaded).",
            (*mo, "status"),
            registry=reg,
        )

    @property
    def content_type(self) -> str:
        """The Content-Type of :meth:`render`'s output."""
        return str(CONTENT_TYPE_LATEST)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return bytes(generate_latest(self.registry))

    def _model(self, model: str) -> str:
        info = self._catalog.get(model)
        return info.id if info is not None else OTHER

    def record(self, record: UsageRecord) -> None:
        model = self._model(record.model)
        operation = record.operation if record.operation in OPERATIONS else OTHER
        error_type = record.error_type or "none"
        if error_type != "none" and error_type not in self._error_types:
            error_type = OTHER
        status = str(record.status) if 100 <= record.status <= 599 else OTHER
        self.requests.labels(model, operation, status, error_type).inc()
        usage = record.usage
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_input_tokens),
            ("cache_write", usage.cache_creation_input_tokens),
        ):
            if count:
                self.tokens.labels(model, operation, kind).inc(count)
        if record.cost_usd:
            self.cost.labels(model, operation).inc(float(record.cost_usd))
        self.latency.labels(model, operation).observe(record.latency_s)
        if record.ttft_s is not None:
            self.ttft.labels(model, operation).observe(record.ttft_s)
        if record.attempts > 1:
            self.retries.labels(model, operation).inc(record.attempts - 1)
        if record.status in THROTTLED_STATUSES:
            self.throttled.labels(model, operation, status).inc()


# --- OpenTelemetry GenAI spans ------------------------------------------------------------------
def _operation_name(operation: str) -> str:
    return "chat" if operation in ("create", "stream") else operation


class GenAISpan:
    """The handle ``span_for`` yields: put what the response said on the span."""

    __slots__ = ("_span",)

    def __init__(self, span: Any = None) -> None:
        self._span = span

    @property
    def recording(self) -> bool:
        return self._span is not None

    def set(self, key: str, value: Any) -> None:
        if self._span is not None and value is not None:
            self._span.set_attribute(key, value)

    def record_usage(self, usage: Usage) -> None:
        self.set("gen_ai.usage.input_tokens", usage.input_tokens)
        self.set("gen_ai.usage.output_tokens", usage.output_tokens)
        self.set("gen_ai.usage.cache_read.input_tokens", usage.cache_read_input_tokens)
        self.set("gen_ai.usage.cache_creation.input_tokens", usage.cache_creation_input_tokens)

    def record_message(self, message: Message) -> None:
        """Response id, model, finish reason and usage of a finished message."""
        if self._span is None:
            return
        self.set("gen_ai.response.id", message.id or None)
        self.set("gen_ai.response.model", message.model or None)
        if message.stop_reason:
            self.set("gen_ai.response.finish_reasons", [message.stop_reason])
        self.record_usage(message.usage)

    def record_usage_record(self, record: UsageRecord) -> None:
        """Usage, request id and outcome from a :class:`UsageRecord`."""
        if self._span is None:
            return
        self.record_usage(record.usage)
        self.set("anthropic.request_id", record.request_id)
        if record.attempts > 1:
            self.set("claude_arch.attempts", record.attempts)
        if record.error_type:
            self.set("error.type", record.error_type)


class OTelTracer:
    """Makes GenAI spans through an OpenTelemetry tracer provider (the global one by default)."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self._provider = tracer_provider
        self._tracer: Any = None
        self._available: bool | None = None

    def _get_tracer(self) -> Any:
        if self._available is None:
            try:
                from opentelemetry import trace
            except ImportError:
                self._available = False
                return None
            self._available = True
            self._tracer = trace.get_tracer("claude_arch", tracer_provider=self._provider)
        return self._tracer

    @contextlib.contextmanager
    def span_for(
        self, operation: str, model: str, *, max_tokens: int | None = None
    ) -> Iterator[GenAISpan]:
        """A CLIENT span named ``"{gen_ai.operation.name} {model}"``; errors mark it failed."""
        tracer = self._get_tracer()
        if tracer is None:
            yield GenAISpan()
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode

        name = _operation_name(operation)
        attributes: dict[str, Any] = {
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.system": PROVIDER,  # the name before semantic conventions 1.37
            "gen_ai.operation.name": name,
            "gen_ai.request.model": model,
        }
        if max_tokens is not None:
            attributes["gen_ai.request.max_tokens"] = max_tokens
        with tracer.start_as_current_span(
            f"{name} {model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            handle = GenAISpan(span if span.is_recording() else None)
            try:
                yield handle
            except BaseException as exc:
                error_type = getattr(exc, "error_type", None) or type(exc).__qualname__
                handle.set("error.type", str(error_type))
                if handle.recording:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                raise


_default_tracer = OTelTracer()


def span_for(
    operation: str, model: str, *, max_tokens: int | None = None
) -> contextlib.AbstractContextManager[GenAISpan]:
    """A GenAI span on the global tracer provider (a no-op without ``opentelemetry-api``)."""
    return _default_tracer.span_for(operation, model, max_tokens=max_tokens)
