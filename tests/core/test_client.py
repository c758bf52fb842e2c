"""ClaudeClient end to end against the real emulator over HTTP: calls, retries, deadlines."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits, default_catalog
from claude_arch.core.types import UsageRecord
from claude_arch.core.wire import ContentBlockDelta, MessageStart
from claude_arch.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
    SpendLimitError,
    StreamInterruptedError,
    UnknownModelError,
)
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there, how are you?"}]


class ListMeter:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)


async def wait_for_async(
    step: Callable[[], Awaitable[None]], done: Callable[[], object], limit_s: float = 30.0
) -> None:
    """Run ``step`` until ``done()`` (e.g. poll a batch until it ended), at most ``limit_s``."""
    async with asyncio.timeout(limit_s):
        while True:
            await step()
            if done():
                return
            await asyncio.sleep(0.02)


def settings_limits(settings: Settings) -> Limits:
    """The haiku family's limits of the settings' tier preset."""
    return default_catalog().limits(settings.rate_limit_tier)["haiku"]


def client_for(emu: EmulatorServer, settings: Settings, **kw: Any) -> ClaudeClient:
    return ClaudeClient(settings, base_url=emu.url, api_key=emu.api_key, **kw)


async def test_create_returns_message_with_usage_record(
    emulator: EmulatorServer, settings: Settings
) -> None:
    meter = ListMeter()
    async with client_for(emulator, settings, meters=[meter]) as claude:
        # before any answer: the in-process limiter's state (the tier preset, nothing used)
        preset = claude.rate_limits(HAIKU)
        assert preset["anthropic-ratelimit-requests-remaining"] == str(
            settings_limits(settings).rpm
        )
        msg = await claude.create(model=HAIKU, max_tokens=64, messages=HELLO)
        limits = claude.rate_limits(HAIKU)
        assert limits == claude.rate_limits("haiku")
        assert limits != preset  # now the upstream's own (its reset, its counts)
    assert int(limits["anthropic-ratelimit-requests-limit"]) > 0
    assert msg.text
    assert msg.id.startswith("msg_")
    record = msg.record
    assert record is not None
    assert meter.records == [record]
    assert record.model == HAIKU
    assert record.attempts == 1
    assert record.request_id is not None
    assert record.request_id.startswith("req_")
    assert record.usage.input_tokens > 0
    assert record.usage.output_tokens > 0
    assert record.cost_usd > 0
    assert record.latency_s > 0


async def test_auto_model_and_alias(emulator: EmulatorServer, settings: Settings) -> None:
    async with client_for(emulator, settings) as claude:
        msg = await claude.create(model="auto", max_tokens=16, messages=HELLO)
        assert msg.record is not None
        assert msg.record.model == settings.default_model


async def test_stream_yields_typed_events_text_and_final_message(
    emulator: EmulatorServer, settings: Settings
) -> None:
    async with client_for(emulator, settings) as claude:
        async with claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream:
            events = [event async for event in stream]
        final = await stream.final_message()
        async with claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as again:
            texts = [t async for t in again.text_stream]
    assert isinstance(events[0], MessageStart)
    deltas = [e for e in events if isinstance(e, ContentBlockDelta)]
    assert "".join(d.text for d in deltas) == final.text == "".join(texts)
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert final.record is not None
    assert final.record.operation == "stream"
    assert final.record.ttft_s is not None
    assert 0 < final.record.ttft_s <= final.record.latency_s


async def test_tool_use_round_trip(emulator: EmulatorServer, settings: Settings) -> None:
    emulator.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Paris"}})
    tools = [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    async with client_for(emulator, settings) as claude:
        msg = await claude.create(model=HAIKU, max_tokens=256, messages=ask, tools=tools)
        async with claude.stream(model=HAIKU, max_tokens=256, messages=ask, tools=tools) as s:
            streamed = await s.final_message()
        assert msg.stop_reason == "tool_use"
        assert msg.tool_uses[0]["name"] == "get_weather"
        assert msg.tool_uses[0]["input"] == {"city": "Paris"}
        assert streamed.tool_uses[0]["input"] == {"city": "Paris"}
        follow_up = [
            *ask,
            {"role": "assistant", "content": msg.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": msg.tool_uses[0]["id"], "content": "18C"}
                ],
            },
        ]
        emulator.clear_rules()
        answer = await claude.create(model=HAIKU, max_tokens=64, messages=follow_up, tools=tools)
        assert answer.text


async def test_count_tokens(emulator: EmulatorServer, settings: Settings) -> None:
    async with client_for(emulator, settings) as claude:
        assert await claude.count_tokens(model=HAIKU, messages=HELLO) > 0


async def test_batches_round_trip(
    emulator: EmulatorServer, settings: Settings, wait_for: Any
) -> None:
    meter = ListMeter()
    requests = [
        {"custom_id": f"q{i}", "params": {"model": HAIKU, "max_tokens": 32, "messages": HELLO}}
        for i in range(3)
    ]
    async with client_for(emulator, settings, meters=[meter]) as claude:
        batch = await claude.batches.create(requests=requests)
        assert batch.id.startswith("msgbatch_")
        ended: dict[str, Any] = {}

        async def poll(batch_id: str) -> None:
            ended[batch_id] = (await claude.batches.retrieve(batch_id)).ended

        await wait_for_async(lambda: poll(batch.id), lambda: ended.get(batch.id))
        page = await claude.batches.list(limit=10)
        assert batch.id in [b.id for b in page.data]
        results = [r async for r in claude.batches.results(batch.id)]
        assert sorted(r.custom_id for r in results) == ["q0", "q1", "q2"]
        assert all(r.type == "succeeded" and r.message and r.message.text for r in results)
        second = await claude.batches.create(requests=requests[:1])
        canceled = await claude.batches.cancel(second.id)
        assert canceled.processing_status in ("canceling", "ended")
        await wait_for_async(lambda: poll(second.id), lambda: ended.get(second.id))
        deleted = await claude.batches.delete(second.id)
        assert deleted["id"] == second.id
    batch_records = [r for r in meter.records if r.operation == "batch"]
    assert len(batch_records) == 3
    first = results[0].message
    assert first is not None
    assert first.record is not None
    full_price = claude.catalog.cost(HAIKU, first.usage, batch=False)
    assert first.record.cost_usd < full_price


async def test_429_retry_after_is_waited_out_exactly(
    emulator: EmulatorServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.set_faults({"kind": "429", "model": HAIKU, "next_n": 1, "seconds": 1})
    caplog.set_level(logging.DEBUG, logger="claude_arch")
    async with client_for(emulator, settings) as claude:
        started = time.monotonic()
        msg = await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
        waited = time.monotonic() - started
    assert msg.record is not None
    assert msg.record.attempts == 2
    assert waited >= 1.0
    assert any("next attempt in 1.000s" in r.getMessage() for r in caplog.records)


async def test_529_is_retried(emulator: EmulatorServer, settings: Settings) -> None:
    emulator.set_faults({"kind": "529", "model": HAIKU, "next_n": 1})
    async with client_for(emulator, settings) as claude:
        msg = await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
    assert msg.record is not None
    assert msg.record.attempts == 2
    assert emulator.stats()["totals"]["fault_529"] == 1


async def test_400_is_not_retried(emulator: EmulatorServer, settings: Settings) -> None:
    emulator.script(user="poison", error={"status": 400, "type": "invalid_request_error"})
    meter = ListMeter()
    async with client_for(emulator, settings, meters=[meter]) as claude:
        with pytest.raises(BadRequestError) as info:
            await claude.create(
                model=HAIKU, max_tokens=16, messages=[{"role": "user", "content": "poison"}]
            )
    assert info.value.attempts == 1
    assert info.value.request_id is not None
    assert emulator.stats()["totals"]["scripted_errors"] == 1
    assert meter.records[0].error_type == "invalid_request_error"
    assert meter.records[0].status == 400


async def test_retries_exhausted_raise_typed_error_with_context(
    emulator: EmulatorServer, settings: Settings
) -> None:
    emulator.set_faults({"kind": "500", "model": HAIKU, "next_n": 5})
    async with client_for(emulator, settings, max_retries=1) as claude:
        with pytest.raises(InternalServerError) as info:
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
    assert info.value.attempts == 2
    assert info.value.model == HAIKU


async def test_deadline_bounds_waits(emulator: EmulatorServer, settings: Settings) -> None:
    emulator.set_faults({"kind": "429", "model": HAIKU, "next_n": 1, "seconds": 30})
    async with client_for(emulator, settings) as claude:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as info:
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=2.0)
        assert time.monotonic() - started < 2.0
        assert info.value.retry_after == 30.0
        assert info.value.attempts == 1


async def test_deadline_cuts_a_slow_answer(emulator: EmulatorServer, settings: Settings) -> None:
    emulator.set_faults({"kind": "slow_first_byte", "model": HAIKU, "next_n": 5, "seconds": 30})
    async with client_for(emulator, settings) as claude:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=0.5)
        assert time.monotonic() - started < 5.0


async def test_fallback_moves_to_next_model_and_cools_down(
    emulator: EmulatorServer, settings: Settings
) -> None:
    opus = "claude-opus-4-6"
    emulator.set_faults({"kind": "529", "model": opus, "next_n": 1})
    async with client_for(emulator, settings, fallbacks={opus: [HAIKU]}, max_retries=0) as claude:
        msg = await claude.create(model=opus, max_tokens=16, messages=HELLO)
        assert msg.record is not None
        assert (msg.record.model, msg.record.fallback_from) == (HAIKU, opus)
        assert msg.record.attempts == 2
        cooled = await claude.create(model=opus, max_tokens=16, messages=HELLO)
        assert cooled.record is not None
        assert cooled.record.model == HAIKU  # opus is cooling down: not even tried
        assert cooled.record.attempts == 1


async def test_stream_error_before_first_event_is_retried(
    emulator: EmulatorServer, settings: Settings
) -> None:
    for kind in ("mid_stream_error", "stream_cut"):
        emulator.set_faults({"kind": kind, "model": HAIKU, "next_n": 1, "after_deltas": 0})
        async with (
            client_for(emulator, settings) as claude,
            claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
        ):
            events = [e async for e in stream]
        final = await stream.final_message()
        assert sum(isinstance(e, MessageStart) for e in events) == 1, kind
        assert final.record is not None
        assert final.record.attempts == 2, kind


async def test_stream_error_after_first_event_surfaces_typed(
    emulator: EmulatorServer, settings: Settings
) -> None:
    cases = {"mid_stream_error": OverloadedError, "stream_cut": StreamInterruptedError}
    for kind, error in cases.items():
        emulator.set_faults({"kind": kind, "model": HAIKU, "next_n": 1, "after_deltas": 2})
        meter = ListMeter()
        seen: list[str] = []

        async def consume(claude: ClaudeClient) -> None:
            async with claude.stream(model=HAIKU, max_tokens=256, messages=HELLO) as s:
                async for text in s.text_stream:
                    seen.append(text)  # noqa: B023 - consumed within this iteration

        async with client_for(emulator, settings, meters=[meter]) as claude:
            with pytest.raises(error) as info:
                await consume(claude)
        assert len(seen) == 2, kind
        assert info.value.attempts == 1
        failed = meter.records[-1]
        assert failed.error_type is not None
        # what was delivered is billed: at least a token per content delta received
        assert failed.usage.output_tokens >= 2, kind
        assert failed.cost_usd > 0, kind


async def test_leaving_a_stream_early_stops_the_server(settings: Settings, wait_for: Any) -> None:
    async with EmulatorServer(speed=1) as emu, client_for(emu, settings) as claude:
        async with claude.stream(model=HAIKU, max_tokens=4000, messages=HELLO) as stream:
            async for event in stream:
                if isinstance(event, ContentBlockDelta):
                    break
        await wait_for(lambda: emu.stats()["stream_stop_ms"])


async def test_cancelling_the_task_stops_the_server(settings: Settings, wait_for: Any) -> None:
    first_delta = asyncio.Event()

    async def consume(claude: ClaudeClient) -> None:
        async with claude.stream(model=HAIKU, max_tokens=4000, messages=HELLO) as stream:
            async for event in stream:
                if isinstance(event, ContentBlockDelta):
                    first_delta.set()

    async with EmulatorServer(speed=1) as emu, client_for(emu, settings) as claude:
        task = asyncio.create_task(consume(claude))
        async with asyncio.timeout(10):
            await first_delta.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_for(lambda: emu.stats()["stream_stop_ms"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": HAIKU, "messages": HELLO}, "max_tokens"),
        ({"model": HAIKU, "max_tokens": 10, "messages": []}, "messages"),
        (
            {"model": HAIKU, "max_tokens": 10, "messages": [{"role": "bot", "content": "x"}]},
            "messages.0.role",
        ),
        ({"model": HAIKU, "max_tokens": 10_000_000, "messages": HELLO}, "max_tokens"),
        ({"model": "claude-haiku-4-20250514", "max_tokens": 10, "messages": HELLO}, "model"),
    ],
)
async def test_invalid_params_fail_locally_before_any_request(
    emulator: EmulatorServer, settings: Settings, params: dict[str, Any], field: str
) -> None:
    async with client_for(emulator, settings) as claude:
        with pytest.raises(InvalidRequestError) as info:
            await claude.create(**params)
        with pytest.raises(InvalidRequestError):
            claude.stream(**params)
    assert info.value.field is not None
    assert info.value.field.startswith(field)
    assert field.split(".", maxsplit=1)[0] in str(info.value)
    assert emulator.stats()["totals"] == {}


async def test_unknown_model_names_real_ones(settings: Settings) -> None:
    claude = ClaudeClient(settings, base_url="http://127.0.0.1:9", api_key="sk-x")
    with pytest.raises(UnknownModelError) as info:
        await claude.create(model="claude-haiku-4-20250514", max_tokens=10, messages=HELLO)
    assert info.value.suggestions
    await claude.close()


async def test_closed_port_is_a_connection_error(settings: Settings) -> None:
    async with ClaudeClient(
        settings, base_url="http://127.0.0.1:9", api_key="sk-secret-key", max_retries=1
    ) as claude:
        with pytest.raises(APIConnectionError) as info:
            await claude.create(model=HAIKU, max_tokens=10, messages=HELLO)
    assert info.value.attempts == 2
    assert "sk-secret-key" not in str(info.value)
    assert "sk-secret-key" not in repr(claude)


async def test_deadline_bounds_a_long_stream(settings: Settings) -> None:
    seen: list[str] = []

    async def consume(claude: ClaudeClient) -> None:
        stream = claude.stream(model=HAIKU, max_tokens=4000, messages=HELLO, deadline=1.0)
        async with stream:
            async for text in stream.text_stream:
                seen.append(text)

    async with (
        EmulatorServer(speed=1, reply_tokens=(3000, 3500)) as emu,
        client_for(emu, settings) as claude,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await consume(claude)
        assert time.monotonic() - started < 5.0
    assert seen  # content arrived before the deadline cut the stream


async def test_spend_limit_from_the_emulator_is_not_retried(
    emulator: EmulatorServer, settings: Settings
) -> None:
    emulator.set_faults({"kind": "spend_limit", "model": HAIKU, "next_n": 5})
    async with client_for(emulator, settings) as claude:
        with pytest.raises(SpendLimitError) as info:
            await claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
    assert info.value.attempts == 1
    assert emulator.stats()["totals"]["fault_spend_limit"] == 1
