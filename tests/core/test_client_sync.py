"""SyncClaudeClient against the emulator in a background thread: no event loop in the caller."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from test_client import ListMeter

from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.wire import ContentBlockDelta, MessageStart
from claude_arch.errors import (
    APITimeoutError,
    ClaudeArchError,
    InvalidRequestError,
    OverloadedError,
    StreamInterruptedError,
)
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there, how are you?"}]


def client_for(emu: EmulatorServer, settings: Settings, **kw: Any) -> SyncClaudeClient:
    return SyncClaudeClient(settings, base_url=emu.url, api_key=emu.api_key, **kw)


def wait_until(condition: Any, limit_s: float = 10.0) -> None:
    """Poll a condition the server thread sets (bounded; there is no event to wait on)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_create_stream_count(emulator_thread: EmulatorServer, settings: Settings) -> None:
    with client_for(emulator_thread, settings) as claude:
        msg = claude.create(model=HAIKU, max_tokens=64, messages=HELLO)
        with claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream:
            events = list(stream)
        final = stream.final_message()
        with claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as again:
            text = "".join(again.text_stream)
        tokens = claude.count_tokens(model=HAIKU, messages=HELLO)
    assert msg.text
    assert msg.record is not None
    assert msg.record.request_id
    assert isinstance(events[0], MessageStart)
    assert final.text == text
    assert final.record is not None
    assert final.record.ttft_s is not None
    assert tokens > 0


def test_batches_round_trip(emulator_thread: EmulatorServer, settings: Settings) -> None:
    params = {"model": HAIKU, "max_tokens": 16, "messages": HELLO}
    with client_for(emulator_thread, settings) as claude:
        batch = claude.batches.create(requests=[{"custom_id": "only", "params": params}])
        wait_until(lambda: claude.batches.retrieve(batch.id).ended)
        (result,) = list(claude.batches.results(batch.id))
        assert claude.batches.list().data
    assert result.custom_id == "only"
    assert result.message is not None
    assert result.message.record is not None
    assert result.message.record.operation == "batch"


def test_batch_params_validated_locally(
    emulator_thread: EmulatorServer, settings: Settings
) -> None:
    bad = {"model": HAIKU, "messages": HELLO}
    with (
        client_for(emulator_thread, settings) as claude,
        pytest.raises(InvalidRequestError) as info,
    ):
        claude.batches.create(requests=[{"custom_id": "a", "params": bad}])
    assert info.value.field == "requests.0.params.max_tokens"
    assert emulator_thread.stats()["totals"] == {}


def test_529_retried_and_stream_errors(emulator_thread: EmulatorServer, settings: Settings) -> None:
    emu = emulator_thread
    with client_for(emu, settings) as claude:
        emu.set_faults({"kind": "529", "model": HAIKU, "next_n": 1})
        msg = claude.create(model=HAIKU, max_tokens=16, messages=HELLO)
        assert msg.record is not None
        assert msg.record.attempts == 2
        emu.set_faults({"kind": "stream_cut", "model": HAIKU, "next_n": 1, "after_deltas": 0})
        with claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream:
            stream.until_done()
        retried = stream.final_message()
        assert retried.record is not None
        assert retried.record.attempts == 2
        for kind, error in (
            ("mid_stream_error", OverloadedError),
            ("stream_cut", StreamInterruptedError),
        ):
            emu.set_faults({"kind": kind, "model": HAIKU, "next_n": 1, "after_deltas": 2})
            seen: list[str] = []
            with (
                pytest.raises(error),
                claude.stream(model=HAIKU, max_tokens=256, messages=HELLO) as failing,
            ):
                seen.extend(failing.text_stream)
            assert len(seen) == 2


def test_deadline_cuts_a_slow_answer(emulator_thread: EmulatorServer, settings: Settings) -> None:
    emulator_thread.set_faults(
        {"kind": "slow_first_byte", "model": HAIKU, "next_n": 5, "seconds": 30}
    )
    with client_for(emulator_thread, settings) as claude:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=0.5)
        assert time.monotonic() - started < 5.0


def test_leaving_a_stream_early_stops_the_server(settings: Settings) -> None:
    with EmulatorServer(speed=1) as emu, client_for(emu, settings) as claude:
        with claude.stream(model=HAIKU, max_tokens=4000, messages=HELLO) as stream:
            for event in stream:
                if isinstance(event, ContentBlockDelta):
                    break
        wait_until(lambda: emu.stats()["stream_stop_ms"])


def test_sync_client_works_from_many_threads(
    emulator_thread: EmulatorServer, settings: Settings
) -> None:
    errors: list[BaseException] = []
    with client_for(emulator_thread, settings) as claude:

        def work() -> None:
            try:
                for _ in range(5):
                    claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
            except BaseException as exc:  # reported to the test thread
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
    assert emulator_thread.stats()["totals"]["requests"] == 20


def test_embedded_emulator_when_nothing_is_configured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="claude_arch")
    settings = Settings(_env_file=None, api_key=None, base_url=None, emulator_speed=1000)  # type: ignore[call-arg]
    assert settings.uses_emulator
    with SyncClaudeClient(settings) as first, SyncClaudeClient(settings) as second:
        assert first.create(model=HAIKU, max_tokens=8, messages=HELLO).text
        assert second.create(model=HAIKU, max_tokens=8, messages=HELLO).text
        assert first.core.base_url == second.core.base_url
    lines = [r.getMessage() for r in caplog.records if "embedded emulator" in r.getMessage()]
    assert len(lines) <= 1  # one line per process (an earlier test may have printed it)
    if lines:
        assert "No ANTHROPIC_API_KEY set" in lines[0]
        assert first.core.base_url in lines[0]


def test_deadline_bounds_a_long_stream(settings: Settings) -> None:
    seen: list[str] = []
    with (
        EmulatorServer(speed=1, reply_tokens=(3000, 3500)) as emu,
        client_for(emu, settings) as claude,
    ):
        started = time.monotonic()
        with (
            pytest.raises(APITimeoutError),
            claude.stream(model=HAIKU, max_tokens=4000, messages=HELLO, deadline=1.0) as stream,
        ):
            seen.extend(stream.text_stream)
        assert time.monotonic() - started < 5.0
    assert seen


def test_async_client_survives_one_loop_per_task(
    emulator_thread: EmulatorServer, settings: Settings
) -> None:
    """A worker that runs each task in its own asyncio.run() can keep one client, closing its
    connections before each loop ends; the next loop gets a fresh pool."""
    from claude_arch.core.client import ClaudeClient

    claude = ClaudeClient(settings, base_url=emulator_thread.url, api_key=emulator_thread.api_key)

    async def task() -> str:
        try:
            return (await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)).text
        finally:
            await claude.close()

    assert asyncio.run(task())
    assert asyncio.run(task())
    assert emulator_thread.stats()["totals"]["requests"] == 2


@pytest.mark.parametrize("kind", ["mid_stream_error", "stream_cut"])
def test_a_stream_that_fails_after_content_is_billed_for_it(
    emulator_thread: EmulatorServer, settings: Settings, kind: str
) -> None:
    """As the async stream: the failed call's record counts a token per delta received."""
    meter = ListMeter()
    emulator_thread.set_faults({"kind": kind, "model": HAIKU, "next_n": 1, "after_deltas": 3})
    with client_for(emulator_thread, settings, meters=[meter]) as claude:
        seen: list[str] = []
        with (
            pytest.raises(ClaudeArchError),
            claude.stream(model=HAIKU, max_tokens=256, messages=HELLO) as failing,
        ):
            seen.extend(failing.text_stream)
    assert len(seen) == 3
    (failed,) = meter.records
    assert failed.error_type is not None
    assert failed.usage.output_tokens >= 3
    assert failed.cost_usd > 0


def test_a_stream_closed_early_is_billed_for_what_it_read(
    emulator_thread: EmulatorServer, settings: Settings
) -> None:
    meter = ListMeter()
    emulator_thread.script(user="^long", text=" ".join(["word"] * 200))
    long = [{"role": "user", "content": "long answer please"}]
    with (
        client_for(emulator_thread, settings, meters=[meter]) as claude,
        claude.stream(model=HAIKU, max_tokens=4000, messages=long) as stream,
    ):
        for n, _ in enumerate(stream.text_stream, start=1):
            if n == 5:
                break
    (closed,) = meter.records
    assert closed.status == 499
    assert closed.usage.output_tokens >= 5
