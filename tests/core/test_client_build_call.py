"""The public build-then-send API of both clients: ``build_call`` validates and sends nothing,
``send_call``/``stream_call`` send it as ``create``/``stream`` would; ``USE_DEFAULT`` against
``None`` (off) for timeouts and the limiter; ``add_meters``; ``check_upstream``."""

from __future__ import annotations

import pytest

from claude_arch import USE_DEFAULT
from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering import RecordingMeter
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.transports.base import WireRequest
from claude_arch.core.transports.mock import MockResponse, MockTransport
from claude_arch.errors import AuthenticationError, InvalidRequestError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello there, how are you?"}]


async def test_build_call_validates_and_sends_nothing(
    emulator: EmulatorServer, settings: Settings
) -> None:
    async with ClaudeClient(settings, base_url=emulator.url, api_key=emulator.api_key) as claude:
        with pytest.raises(InvalidRequestError) as bad:
            claude.build_call("create", {"model": HAIKU, "max_tokens": 0, "messages": HELLO})
        call = claude.build_call(
            "create", {"model": HAIKU, "max_tokens": 64, "messages": HELLO, "stream": True}
        )
    assert bad.value.field == "max_tokens"
    assert "stream" not in call.params  # the operation decides
    assert call.input_estimate > 0
    assert (call.max_tokens, call.attempts) == (64, 0)
    assert emulator.stats()["totals"].get("requests", 0) == 0


async def test_send_call_and_stream_call_send_as_create_and_stream_do(
    emulator: EmulatorServer, settings: Settings
) -> None:
    meter = RecordingMeter()
    async with ClaudeClient(settings, base_url=emulator.url, api_key=emulator.api_key) as claude:
        claude.add_meters(meter)
        body = {"model": HAIKU, "max_tokens": 64, "messages": HELLO}
        reference = await claude.create(**body)
        call = claude.build_call("create", body)
        message = await claude.send_call(call)
        streamed = claude.build_call("stream", body)
        async with claude.stream_call(streamed) as stream:
            final = await stream.final_message()
    assert message.text == reference.text == final.text
    assert (call.attempts, streamed.attempts) == (1, 1)
    assert [r.operation for r in meter.records] == ["create", "create", "stream"]
    assert emulator.stats()["totals"]["requests"] == 3


def test_the_sync_client_builds_and_sends_alike(
    emulator_thread: EmulatorServer, settings: Settings
) -> None:
    with SyncClaudeClient(
        settings, base_url=emulator_thread.url, api_key=emulator_thread.api_key
    ) as claude:
        body = {"model": HAIKU, "max_tokens": 64, "messages": HELLO}
        message = claude.send_call(claude.build_call("create", body))
        with claude.stream_call(claude.build_call("stream", body)) as stream:
            final = stream.final_message()
        assert claude.resolve("auto").id == claude.resolve(settings.default_model).id
        assert claude.catalog.get(HAIKU) is not None
    assert message.text == final.text
    assert message.record is not None
    assert message.record.attempts == 1


def _answer(request: WireRequest) -> MockResponse:
    return MockResponse.json({"input_tokens": 3})


@pytest.mark.parametrize(
    ("client_timeout", "call_timeout", "sent"),
    [
        (USE_DEFAULT, USE_DEFAULT, 600.0),  # the settings' timeout_s
        (None, USE_DEFAULT, None),  # the client has none: off
        (12.5, USE_DEFAULT, 12.5),
        (12.5, None, None),  # None means off for one call too
        (12.5, 3.0, 3.0),
    ],
)
async def test_use_default_takes_the_default_and_none_turns_the_timeout_off(
    client_timeout: float | None, call_timeout: float | None, sent: float | None
) -> None:
    settings = Settings(_env_file=None, timeout_s=600.0)  # type: ignore[call-arg]
    transport = MockTransport(_answer)
    async with ClaudeClient(
        settings,
        api_key="sk-test",
        base_url="http://mock",
        transport=transport,
        timeout=client_timeout,  # type: ignore[arg-type]
        limiter=None,
    ) as claude:
        assert claude.core.limiter is None
        await claude.count_tokens(
            model=HAIKU,
            messages=HELLO,
            timeout=call_timeout,  # type: ignore[arg-type]
        )
    assert transport.requests[0].timeout == sent


async def test_check_upstream_passes_with_a_good_key_and_raises_with_a_bad_one(
    settings: Settings,
) -> None:
    async with EmulatorServer(speed=0, api_keys=["sk-ant-right"]) as emulator:
        async with ClaudeClient(settings, base_url=emulator.url, api_key="sk-ant-right") as good:
            await good.check_upstream()
        async with ClaudeClient(settings, base_url=emulator.url, api_key="sk-ant-wrong") as bad:
            with pytest.raises(AuthenticationError):
                await bad.check_upstream()
