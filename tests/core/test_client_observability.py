"""What a client call leaves behind: one OpenTelemetry GenAI span and its Prometheus samples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from claude_arch.core.client import ClaudeClient
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import OverloadedError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


def _provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes)


async def test_create_is_one_client_span_with_genai_attributes(
    emulator: EmulatorServer, settings: Settings, exporter: InMemorySpanExporter
) -> None:
    async with ClaudeClient(
        settings,
        base_url=emulator.url,
        api_key=emulator.api_key,
        tracer_provider=_provider(exporter),
    ) as client:
        msg = await client.create(model=HAIKU, max_tokens=64, messages=HELLO)
    (span,) = exporter.get_finished_spans()
    attrs = _attrs(span)
    assert span.name == f"chat {HAIKU}"
    assert span.kind is SpanKind.CLIENT
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == HAIKU
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.response.id"] == msg.id
    assert attrs["gen_ai.response.finish_reasons"] == (msg.stop_reason,)
    assert attrs["gen_ai.usage.output_tokens"] == msg.usage.output_tokens
    assert attrs["gen_ai.usage.input_tokens"] == msg.usage.input_tokens
    assert msg.record is not None
    assert attrs["anthropic.request_id"] == msg.record.request_id
    assert span.end_time is not None
    assert span.start_time is not None
    duration_s = (span.end_time - span.start_time) / 1e9
    assert duration_s == pytest.approx(msg.record.latency_s, abs=0.005)


async def test_a_failed_call_is_an_error_span(
    emulator: EmulatorServer, settings: Settings, exporter: InMemorySpanExporter
) -> None:
    emulator.set_faults({"kind": "529", "model": HAIKU, "next_n": 10, "seconds": 0})
    async with ClaudeClient(
        settings,
        base_url=emulator.url,
        api_key=emulator.api_key,
        max_retries=1,
        tracer_provider=_provider(exporter),
    ) as client:
        with pytest.raises(OverloadedError):
            await client.create(model=HAIKU, max_tokens=64, messages=HELLO)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert _attrs(span)["error.type"] == "overloaded_error"
    assert _attrs(span)["claude_arch.attempts"] == 2


def test_a_sync_stream_is_one_span(
    emulator_thread: EmulatorServer, settings: Settings, exporter: InMemorySpanExporter
) -> None:
    with (
        SyncClaudeClient(
            settings,
            base_url=emulator_thread.url,
            api_key=emulator_thread.api_key,
            tracer_provider=_provider(exporter),
        ) as client,
        client.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
    ):
        msg = stream.final_message()
    (span,) = exporter.get_finished_spans()
    assert _attrs(span)["gen_ai.response.id"] == msg.id
    assert _attrs(span)["gen_ai.usage.output_tokens"] == msg.usage.output_tokens


async def test_a_stream_closed_early_is_counted_as_cancelled_in_prometheus(
    emulator: EmulatorServer, settings: Settings
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from claude_arch.core.metering import PrometheusMeter

    meter = PrometheusMeter()
    async with (
        ClaudeClient(
            settings, base_url=emulator.url, api_key=emulator.api_key, meters=[meter]
        ) as client,
        client.stream(model=HAIKU, max_tokens=512, messages=HELLO) as stream,
    ):
        async for _ in stream.text_stream:
            break
    samples = [
        s
        for family in text_string_to_metric_families(meter.render().decode())
        for s in family.samples
        if s.name == "claude_arch_requests_total"
    ]
    (sample,) = samples
    assert sample.labels["error_type"] == "cancelled"
    assert sample.labels["status"] == "499"
