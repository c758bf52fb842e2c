"""Prometheus metrics of every call, on a registry of their own.

meter = PrometheusMeter()
client = ClaudeClient(meters=[meter])
return Response(meter.render(), media_type=meter.content_type)   # the /metrics endpoint
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from claude_arch.core.catalog import Catalog
from claude_arch.core.metering.labels import BoundedLabels
from claude_arch.core.types import UsageRecord

__all__ = ["PrometheusMeter"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
THROTTLED_STATUSES = frozenset({429, 529})


class PrometheusMeter:
    """Prometheus counters and histograms of calls, by model and operation.

    ``claude_arch_requests_total{model,operation,status,error_type}``,
    ``claude_arch_tokens_total{model,operation,kind}`` (kind: input, output, cache_read,
    cache_write), ``claude_arch_cost_usd_total{model,operation}``,
    ``claude_arch_request_duration_seconds{model,operation}``,
    ``claude_arch_time_to_first_token_seconds{model,operation}``,
    ``claude_arch_retries_total{model,operation}`` (attempts beyond the first) and
    ``claude_arch_throttled_total{model,operation,status}`` (calls that ended in 429 or 529).

    Each meter has its own ``CollectorRegistry`` unless given one, so several clients (or tests)
    in one process never collide.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, catalog: Catalog | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._labels = BoundedLabels(catalog)
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
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

    def record(self, record: UsageRecord) -> None:
        labels = self._labels
        model = labels.model(record.model)
        operation = labels.operation(record.operation)
        status = labels.status(record.status)
        child = self._child
        child(self.requests, model, operation, status, labels.error_type(record.error_type)).inc()
        usage = record.usage
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_input_tokens),
            ("cache_write", usage.cache_creation_input_tokens),
        ):
            if count:
                child(self.tokens, model, operation, kind).inc(count)
        if record.cost_usd:
            child(self.cost, model, operation).inc(float(record.cost_usd))
        child(self.latency, model, operation).observe(record.latency_s)
        if record.ttft_s is not None:
            child(self.ttft, model, operation).observe(record.ttft_s)
        if record.attempts > 1:
            child(self.retries, model, operation).inc(record.attempts - 1)
        if record.status in THROTTLED_STATUSES:
            child(self.throttled, model, operation, status).inc()

    def _child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, looked up once per label set: ``labels()`` takes a lock
        and validates on every call, which showed in the gateway's per-request profile."""
        key = (metric, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found
