"""The API key never appears in an error or a log line, even when the server's answer is so
malformed that the HTTP library's own error carries the request (and so its headers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.errors import APIConnectionError
from claude_arch.settings import Settings

KEY = "sk-ant-secret-key-never-shown"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
async def malformed_server() -> AsyncIterator[str]:
    """A real TCP server on 127.0.0.1 whose answer is not valid HTTP."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_a_malformed_answer_does_not_leak_the_key(
    malformed_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="claude_arch")
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    async with ClaudeClient(
        settings, base_url=malformed_server, api_key=KEY, max_retries=1
    ) as claude:
        with pytest.raises(APIConnectionError) as info:
            await claude.create(model="claude-haiku-4-5", max_tokens=8, messages=HELLO)
    assert "Content-Length" in str(info.value)  # still says what went wrong
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert KEY not in caplog.text
