"""GenAI spans on OpenTelemetry's global tracer provider: while none is set (the API's default
proxy), ``OTelTracer.emit`` starts no span at all (it would be a no-op, at a cost on every call);
once an application sets one, later calls' spans arrive, through the tracers handed out before.
A tracer given its own provider spans whatever the global one is.

Setting the global provider is once per process in OpenTelemetry, so the check runs in a fresh
interpreter: a real client against the emulator, then the SDK's in-memory exporter, reported as
JSON. The spans started on the global tracer are counted at OpenTelemetry's ``ProxyTracer``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

HAIKU = "claude-haiku-4-5"

SCRIPT = r"""
import asyncio, json

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering.spans import OTelTracer
from claude_arch.core.types import Usage, UsageRecord
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there"}]
started = []  # the names of the spans started on the global provider's (proxy) tracer
start_span = trace.ProxyTracer.start_span


def counting(self, name, *args, **kwargs):
    started.append(name)
    return start_span(self, name, *args, **kwargs)


trace.ProxyTracer.start_span = counting


def provider():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def spans(exporter):
    finished = exporter.get_finished_spans()
    return [{"name": s.name, "attributes": dict(s.attributes)} for s in finished]


async def main():
    record = UsageRecord(
        model=HAIKU, usage=Usage(input_tokens=3, output_tokens=5), latency_s=0.25, max_tokens=7
    )
    early = OTelTracer()  # made (and used) before there is a provider
    own, own_exporter = provider()
    explicit = OTelTracer(own)
    out = {}
    async with EmulatorServer(speed=0) as emu:
        settings = Settings(_env_file=None)
        async with ClaudeClient(settings, base_url=emu.url, api_key=emu.api_key) as client:
            for _ in range(3):
                await client.create(model=HAIKU, max_tokens=64, messages=HELLO)
                early.emit(record)
            explicit.emit(record)
            out["provider_before"] = type(trace.get_tracer_provider()).__name__
            out["started_before"] = list(started)
            out["explicit_spans"] = spans(own_exporter)

            global_provider, exporter = provider()
            trace.set_tracer_provider(global_provider)  # the application sets one, late
            message = await client.create(model=HAIKU, max_tokens=64, messages=HELLO)
            early.emit(record)
            out["started_after"] = list(started)
            out["spans_after"] = spans(exporter)
            out["response_id"] = message.id
    print(json.dumps(out))


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_no_span_is_started_while_no_provider_is_set(report: dict[str, Any]) -> None:
    assert report["provider_before"] == "ProxyTracerProvider"
    assert report["started_before"] == []  # 3 client calls and 3 direct emits: no span


def test_spans_arrive_once_a_global_provider_is_set(report: dict[str, Any]) -> None:
    name = f"chat {HAIKU}"
    assert report["started_after"] == [name, name]  # through the tracers they already had
    from_client, from_early = report["spans_after"]
    assert from_client["name"] == name
    assert from_client["attributes"]["gen_ai.provider.name"] == "anthropic"
    assert from_client["attributes"]["gen_ai.operation.name"] == "chat"
    assert from_client["attributes"]["gen_ai.response.id"] == report["response_id"]
    assert from_early["name"] == name
    assert from_early["attributes"]["gen_ai.request.max_tokens"] == 7
    assert from_early["attributes"]["gen_ai.usage.input_tokens"] == 3
    assert from_early["attributes"]["gen_ai.usage.output_tokens"] == 5


def test_a_tracer_with_its_own_provider_spans_without_a_global_one(
    report: dict[str, Any],
) -> None:
    (span,) = report["explicit_spans"]
    assert span["name"] == f"chat {HAIKU}"
    assert span["attributes"]["gen_ai.usage.output_tokens"] == 5
