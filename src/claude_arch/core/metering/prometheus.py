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
_SERIES_CACHE_SIZE = 1024


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
        self._series: dict[tuple[str, str, int, str | None], _Series] = {}
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
        key = (record.model, record.operation, record.status, record.error_type)
        series = self._series.get(key)
        if series is None:
            series = self._series_of(*key)
        usage = record.usage
        series.child("requests").inc()
        if usage.input_tokens:
            series.child("input").inc(usage.input_tokens)
        if usage.output_tokens:
            series.child("output").inc(usage.output_tokens)
        if usage.cache_read_input_tokens:
            series.child("cache_read").inc(usage.cache_read_input_tokens)
        if usage.cache_creation_input_tokens:
            series.child("cache_write").inc(usage.cache_creation_input_tokens)
        if record.cost_usd:
            series.child("cost").inc(float(record.cost_usd))
        series.child("latency").observe(record.latency_s)
        if record.ttft_s is not None:
            series.child("ttft").observe(record.ttft_s)
        if record.attempts > 1:
            series.child("retries").inc(record.attempts - 1)
        if record.status in THROTTLED_STATUSES:
            series.child("throttled").inc()

    def _series_of(
        self, model: str, operation: str, status: int, error_type: str | None
    ) -> _Series:
        """What one (model, operation, status, error type) updates, kept: ``labels()`` takes
        a lock and validates on every call, and label lookups per call showed in the gateway's
        per-request profile. Label values are bounded; so is this cache, by clearing it."""
        labels = self._labels
        mo = (labels.model(model), labels.operation(operation))
        status_label = labels.status(status)
        series = _Series(
            {
                "requests": (self.requests, (*mo, status_label, labels.error_type(error_type))),
                "input": (self.tokens, (*mo, "input")),
                "output": (self.tokens, (*mo, "output")),
                "cache_read": (self.tokens, (*mo, "cache_read")),
                "cache_write": (self.tokens, (*mo, "cache_write")),
                "cost": (self.cost, mo),
                "latency": (self.latency, mo),
                "ttft": (self.ttft, mo),
                "retries": (self.retries, mo),
                "throttled": (self.throttled, (*mo, status_label)),
            }
        )
        if len(self._series) >= _SERIES_CACHE_SIZE:
            self._series.clear()  # model names callers made up, all labelled "other"
        self._series[(model, operation, status, error_type)] = series
        return series


class _Series:
    """The label children of one (model, operation, status, error type), each made when first
    used: a series shows in /metrics once something was counted in it."""

    __slots__ = ("_children", "_labels")

    def __init__(self, labels: dict[str, tuple[Any, tuple[str, ...]]]) -> None:
        self._labels = labels
        self._children: dict[str, Any] = {}

    def child(self, name: str) -> Any:
        found = self._children.get(name)
        if found is None:
            metric, values = self._labels[name]
            found = self._children[name] = metric.labels(*values)
        return found
