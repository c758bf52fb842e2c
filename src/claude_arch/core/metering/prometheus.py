"""Prometheus metrics of every call, on a registry of their own.

meter = PrometheusMeter()
client = ClaudeClient(meters=[meter])
return Response(meter.render(), media_type=meter.content_type)   # the /metrics endpoint

``PrometheusMeter(genai=True)`` adds the OpenTelemetry GenAI client metrics under the names an
OpenTelemetry Prometheus exporter gives them (``gen_ai_client_operation_duration_seconds``,
``gen_ai_client_token_usage``; attributes as labels, dots as underscores), for dashboards built
on the semantic conventions, without the OpenTelemetry SDK.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from claude_arch.core.metering.labels import BoundedLabels
from claude_arch.core.metering.otel_metrics import DURATION_BUCKETS, TOKEN_BUCKETS
from claude_arch.core.metering.spans import PROVIDER, genai_operation, total_input
from claude_arch.core.pricing.catalog import Catalog
from claude_arch.core.types import UsageRecord

__all__ = ["PrometheusMeter"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROUTING_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
_LABEL_CHARS = 40  # a tier or classifier name is the policy's; long ones are cut
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
    Calls routed from ``model: "auto"``: ``claude_arch_routed_total{tier,classifier,model}``
    (the tier decided, what decided it, the model that answered),
    ``claude_arch_routing_decision_seconds{classifier}`` and
    ``claude_arch_routing_cost_usd_total{classifier}`` (what deciding cost: an ``llm``
    classifier's call).

    With ``genai``: ``gen_ai_client_operation_duration_seconds`` (every call; ``error_type`` on
    failures, ``gen_ai_response_model`` on successes) and ``gen_ai_client_token_usage``
    (successful calls, ``gen_ai_token_type`` input or output, input including cache reads and
    writes), labelled ``gen_ai_operation_name``, ``gen_ai_provider_name``,
    ``gen_ai_request_model``, with the conventions' bucket boundaries (as :class:`OTelMeter`).

    Each meter has its own ``CollectorRegistry`` unless given one, so several clients (or tests)
    in one process never collide.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        catalog: Catalog | None = None,
        genai: bool = False,
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
        self.routed = Counter(
            "claude_arch_routed",
            'Calls routed from model "auto", by tier, classifier and the model that answered.',
            ("tier", "classifier", "model"),
            registry=reg,
        )
        self.routing_latency = Histogram(
            "claude_arch_routing_decision_seconds",
            'Time to decide where a model "auto" call goes.',
            ("classifier",),
            buckets=ROUTING_BUCKETS,
            registry=reg,
        )
        self.routing_cost = Counter(
            "claude_arch_routing_cost_usd",
            "What routing decisions cost (an llm classifier's calls), in US dollars.",
            ("classifier",),
            registry=reg,
        )
        self.genai = genai
        genai_labels = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
        self.genai_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration.",
            (*genai_labels, "gen_ai_response_model", "error_type"),
            buckets=DURATION_BUCKETS,
            registry=reg if genai else None,
        )
        self.genai_tokens = Histogram(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used.",
            (*genai_labels, "gen_ai_response_model", "gen_ai_token_type"),
            buckets=TOKEN_BUCKETS,
            registry=reg if genai else None,
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
        if record.route is not None:
            self._record_route(record.route, record.model)
        if self.genai:
            self._record_genai(record)

    def _record_route(self, route: dict[str, Any], model: str) -> None:
        classifier = str(route.get("classifier") or "")[:_LABEL_CHARS]
        tier = str(route.get("tier") or "")[:_LABEL_CHARS]
        self.routed.labels(tier, classifier, self._labels.model(model)).inc()
        latency = route.get("latency_s")
        if isinstance(latency, int | float):
            self.routing_latency.labels(classifier).observe(latency)
        cost = route.get("cost_usd")
        if cost:
            self.routing_cost.labels(classifier).inc(float(cost))

    def _record_genai(self, record: UsageRecord) -> None:
        labels = self._labels
        named = (
            genai_operation(labels.operation(record.operation)),
            PROVIDER,
            labels.model(record.fallback_from or record.model),
        )
        if record.error_type:
            error = labels.error_type(record.error_type)
            self.genai_duration.labels(*named, "", error).observe(record.latency_s)
            return
        answered = (*named, labels.model(record.model))
        self.genai_duration.labels(*answered, "").observe(record.latency_s)
        self.genai_tokens.labels(*answered, "input").observe(total_input(record.usage))
        self.genai_tokens.labels(*answered, "output").observe(record.usage.output_tokens)

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
