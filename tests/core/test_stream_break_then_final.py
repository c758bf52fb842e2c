"""Leaving a loop over a stream with ``break`` and then asking for ``final_message()`` reads on
from where the loop stopped (as with the official SDK), inside the ``with`` block."""

from __future__ import annotations

from claude_arch.core.client import ClaudeClient
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.wire import ContentBlockDelta
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


async def test_break_then_final_message(emulator: EmulatorServer, settings: Settings) -> None:
    async with (
        ClaudeClient(settings, base_url=emulator.url, api_key=emulator.api_key) as claude,
        claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
    ):
        async for text in stream.text_stream:
            first = text
            break
        message = await stream.final_message()
    assert message.text.startswith(first)
    assert message.stop_reason is not None
    assert message.record is not None
    assert message.record.status == 200


async def test_break_then_more_events(emulator: EmulatorServer, settings: Settings) -> None:
    async with (
        ClaudeClient(settings, base_url=emulator.url, api_key=emulator.api_key) as claude,
        claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
    ):
        texts = []
        async for event in stream:
            if isinstance(event, ContentBlockDelta):
                texts.append(event.text)
                break
        async for event in stream:
            if isinstance(event, ContentBlockDelta):
                texts.append(event.text)
        message = await stream.final_message()
    assert "".join(texts) == message.text


def test_break_then_final_message_sync(emulator_thread: EmulatorServer, settings: Settings) -> None:
    with (
        SyncClaudeClient(
            settings, base_url=emulator_thread.url, api_key=emulator_thread.api_key
        ) as claude,
        claude.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream,
    ):
        for text in stream.text_stream:
            first = text
            break
        message = stream.final_message()
    assert message.text.startswith(first)
    assert message.record is not None
    assert message.record.status == 200
