"""Metering: Prometheus text parsed back with exact counts, GenAI spans captured in memory."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from claude_arch.core.metering import (
    Meter,
    MultiMeter,
    OTelMeter,
    OTelTracer,
    PrometheusMeter,
    RecordingMeter,
    span_for,
)
from claude_arch.core.types import Message, Usage, UsageRecord
from claude_arch.errors import RateLimitError

HAIKU = "claude-haiku-4-5"


def samples(meter: PrometheusMeter) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the rendered text, keyed by (name, labels)."""
    text = meter.render().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labels(**kw: str) -> frozenset[tuple[str, str]]:
    return frozenset(kw.items())


RECORDS = [
    UsageRecord(
        model=HAIKU,
        usage=Usage(input_tokens=100, output_tokens=20, cache_read_input_tokens=1000),
        cost_usd=Decimal("0.0002"),
        latency_s=0.3,
    ),
    UsageRecord(
        model="claude-haiku-4-5-20251001",  # an alias counts under its model id
        operation="stream",
        usage=Usage(input_tokens=50, output_tokens=30, cache_creation_input_tokens=200),
        cost_usd=Decimal("0.0004"),
        latency_s=1.2,
        ttft_s=0.2,
        attempts=3,
    ),
    UsageRecord(
        model=HAIKU,
        latency_s=4.0,
        attempts=3,
        status=429,
        error_type="rate_limit_error",
    ),
    UsageRecord(model=HAIKU, latency_s=0.1, status=529, error_type="overloaded_error"),
    UsageRecord(model="gpt-oops", latency_s=0.1, status=400, error_type="made_up_error"),
]


def test_prometheus_counts_are_exact() -> None:
    meter = PrometheusMeter()
    assert isinstance(meter, Meter)
    for record in RECORDS:
        meter.record(record)
    got = samples(meter)
    create = {"model": HAIKU, "operation": "create"}
    stream = {"model": HAIKU, "operation": "stream"}
    assert got["claude_arch_requests_total", labels(**create, status="200", error_type="none")] == 1
    assert got["claude_arch_requests_total", labels(**stream, status="200", error_type="none")] == 1
    assert (
        got[
            "claude_arch_requests_total",
            labels(**create, status="429", error_type="rate_limit_error"),
        ]
        == 1
    )
    assert (
        got[
            "claude_arch_requests_total",
            labels(model="other", operation="create", status="400", error_type="other"),
        ]
        == 1
    )
    assert got["claude_arch_tokens_total", labels(**create, kind="input")] == 100
    assert got["claude_arch_tokens_total", labels(**create, kind="cache_read")] == 1000
    assert got["claude_arch_tokens_total", labels(**stream, kind="output")] == 30
    assert got["claude_arch_tokens_total", labels(**stream, kind="cache_write")] == 200
    assert got["claude_arch_cost_usd_total", labels(**create)] == pytest.approx(0.0002)
    assert got["claude_arch_retries_total", labels(**stream)] == 2
    assert got["claude_arch_retries_total", labels(**create)] == 2
    assert got["claude_arch_throttled_total", labels(**create, status="429")] == 1
    assert got["claude_arch_throttled_total", labels(**create, status="529")] == 1
    assert got["claude_arch_request_duration_seconds_count", labels(**create)] == 3
    assert got["claude_arch_request_duration_seconds_sum", labels(**create)] == pytest.approx(4.4)
    assert got["claude_arch_request_duration_seconds_bucket", labels(**create, le="0.5")] == 2
    assert got["claude_arch_time_to_first_token_seconds_count", labels(**stream)] == 1
    assert ("claude_arch_time_to_first_token_seconds_count", labels(**create)) not in got
    assert meter.content_type.startswith("text/plain")


def test_label_cardinality_is_bounded() -> None:
    meter = PrometheusMeter()
    made_up = 1500  # more than the meter keeps of raw label sets: its cache starts over
    for i in range(made_up):
        meter.record(
            UsageRecord(model=f"junk-{i}", operation=f"op-{i}", error_type=f"e-{i}", status=400)
        )
    got = samples(meter)
    for label in ("model", "operation", "error_type"):
        assert {dict(k[1]).get(label) for k in got} - {None} == {"other"}
    requests = {k: v for k, v in got.items() if k[0] == "claude_arch_requests_total"}
    assert list(requests.values()) == [made_up]  # one series, every record counted in it
    assert len(meter._series) <= 1024  # what the meter remembers stays bounded too


def test_registries_do_not_collide() -> None:
    one, two = PrometheusMeter(), PrometheusMeter(CollectorRegistry())
    one.record(RECORDS[0])
    assert not any(name == "claude_arch_requests_total" for name, _ in samples(two))


def test_multi_meter_survives_a_failing_meter(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def record(self, record: UsageRecord) -> None:
            raise RuntimeError("boom")

    first, last = RecordingMeter(), RecordingMeter()
    multi = MultiMeter([first, Broken()])
    multi.add(last)
    multi.record(RECORDS[0])
    multi.record(RECORDS[1])
    assert len(first.records) == len(last.records) == 2
    assert first.total_tokens == 200
    assert first.total_cost == Decimal("0.0006")
    assert "metering continues" in caplog.text
    first.clear()
    assert first.records == []


@pytest.fixture
def spans() -> tuple[OTelTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OTelTracer(provider), exporter


def test_span_follows_genai_conventions(spans: tuple[OTelTracer, InMemorySpanExporter]) -> None:
    tracer, exporter = spans
    message = Message(
        id="msg_01",
        model=HAIKU,
        stop_reason="end_turn",
        usage=Usage(input_tokens=12, output_tokens=8, cache_read_input_tokens=3),
    )
    with tracer.span_for("create", HAIKU, max_tokens=256) as span:
        assert span.recording
        span.record_message(message)
    (finished,) = exporter.get_finished_spans()
    assert finished.name == f"chat {HAIKU}"
    assert finished.kind is SpanKind.CLIENT
    attrs = dict(finished.attributes or {})
    assert attrs == {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.system": "anthropic",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": HAIKU,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.response.id": "msg_01",
        "gen_ai.response.model": HAIKU,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 15,  # cache reads included, as the conventions ask
        "gen_ai.usage.output_tokens": 8,
        "gen_ai.usage.cache_read.input_tokens": 3,
        "gen_ai.usage.cache_creation.input_tokens": 0,
    }


def test_span_marks_errors(spans: tuple[OTelTracer, InMemorySpanExporter]) -> None:
    tracer, exporter = spans

    def throttled_call() -> None:
        with tracer.span_for("stream", HAIKU) as span:
            span.record_usage_record(RECORDS[2])
            raise RateLimitError("slow down", retry_after=1.0)

    with pytest.raises(RateLimitError):
        throttled_call()
    (finished,) = exporter.get_finished_spans()
    attrs = dict(finished.attributes or {})
    assert attrs["error.type"] == "rate_limit_error"
    assert attrs["claude_arch.attempts"] == 3
    assert finished.status.status_code is StatusCode.ERROR
    assert [e.name for e in finished.events] == ["exception"]


def test_global_span_for_is_a_cheap_noop_without_a_provider() -> None:
    with span_for("create", HAIKU) as span:
        assert not span.recording
        span.record_message(Message(id="x", model=HAIKU))


def test_span_for_without_opentelemetry_installed() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from claude_arch.core.metering import OTelMeter, span_for\n"
        "from claude_arch.core.types import UsageRecord\n"
        "with span_for('create', 'claude-haiku-4-5') as s:\n"
        "    assert not s.recording\n"
        "OTelMeter().record(UsageRecord(model='claude-haiku-4-5'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_otel_meter_writes_the_genai_client_metrics() -> None:
    reader = InMemoryMetricReader()
    meter = OTelMeter(MeterProvider(metric_readers=[reader]))
    for record in RECORDS:
        meter.record(record)
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[tuple[dict[str, object], int, float]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = [
                    (dict(p.attributes or {}), p.count, p.sum) for p in metric.data.data_points
                ]
    tokens = points["gen_ai.client.token.usage"]
    by_type = {
        (attrs["gen_ai.token.type"], attrs["gen_ai.response.model"]): (count, total)
        for attrs, count, total in tokens
    }
    assert by_type == {
        ("input", HAIKU): (2, 100 + 1000 + 50 + 200),
        ("output", HAIKU): (2, 20 + 30),
    }
    durations = points["gen_ai.client.operation.duration"]
    assert sum(count for _, count, _ in durations) == len(RECORDS)
    failed = {attrs.get("error.type") for attrs, _, _ in durations} - {None}
    assert failed == {"rate_limit_error", "overloaded_error", "other"}
    for attrs, _, _ in durations:
        assert attrs["gen_ai.provider.name"] == "anthropic"
        assert attrs["gen_ai.operation.name"] == "chat"


def test_prometheus_genai_metrics_match_the_otel_meter() -> None:
    """``PrometheusMeter(genai=True)`` exports what the OTel meter records, under the names and
    labels an OTel Prometheus exporter gives it (dots as underscores, the unit as a suffix)."""
    reader = InMemoryMetricReader()
    otel = OTelMeter(MeterProvider(metric_readers=[reader]))
    prometheus = PrometheusMeter(genai=True)
    for record in RECORDS:
        otel.record(record)
        prometheus.record(record)
    data = reader.get_metrics_data()
    assert data is not None
    names = {
        "gen_ai.client.operation.duration": "gen_ai_client_operation_duration_seconds",
        "gen_ai.client.token.usage": "gen_ai_client_token_usage",
    }
    expected: dict[tuple[str, frozenset[tuple[str, str]]], tuple[int, float]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attrs = {
                        k.replace(".", "_"): str(v) for k, v in (point.attributes or {}).items()
                    }
                    key = (names[metric.name], frozenset(attrs.items()))
                    expected[key] = (point.count, point.sum)
    got: dict[tuple[str, frozenset[tuple[str, str]]], tuple[int, float]] = {}
    found = samples(prometheus)
    for (name, labelled), value in found.items():
        if not name.endswith("_count") or not name.startswith("gen_ai_"):
            continue
        base = name.removesuffix("_count")
        kept = frozenset((k, v) for k, v in labelled if v)  # an empty label is an absent one
        got[base, kept] = (int(value), found[base + "_sum", labelled])
    assert got.keys() == expected.keys()
    for key, (count, total) in expected.items():
        assert got[key][0] == count
        assert got[key][1] == pytest.approx(total)


def test_prometheus_genai_metrics_are_off_by_default() -> None:
    meter = PrometheusMeter()
    for record in RECORDS:
        meter.record(record)
    assert "gen_ai_" not in meter.render().decode()


def test_routed_calls_count_by_tier_classifier_and_model() -> None:
    meter = PrometheusMeter()
    route = {
        "tier": "fast",
        "model": HAIKU,
        "reason": "a greeting",
        "classifier": "llm",
        "latency_s": 0.4,
        "cost_usd": "0.00007",
    }
    meter.record(UsageRecord(model=HAIKU, latency_s=1.0, route=route))
    meter.record(UsageRecord(model=HAIKU, latency_s=1.0, route={**route, "classifier": "rules"}))
    meter.record(UsageRecord(model=HAIKU, latency_s=1.0))  # not routed: counted nowhere here
    found = samples(meter)
    routed = {
        labels: value
        for (name, labels), value in found.items()
        if name == "claude_arch_routed_total"
    }
    assert routed == {
        labels(tier="fast", classifier="llm", model=HAIKU): 1.0,
        labels(tier="fast", classifier="rules", model=HAIKU): 1.0,
    }
    assert found["claude_arch_routing_cost_usd_total", labels(classifier="llm")] == pytest.approx(
        0.00007
    )
    assert found["claude_arch_routing_decision_seconds_count", labels(classifier="rules")] == 1.0
    assert found["claude_arch_routing_decision_seconds_sum", labels(classifier="llm")] == 0.4
