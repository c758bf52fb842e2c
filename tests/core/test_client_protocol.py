"""What both clients put on the wire and how they read answers the emulator cannot script:
header styles, retry counts, spend limits, ``x-should-retry``, ``retry-after-ms``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from stub_answers import MESSAGE

import claude_arch.core
from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Catalog
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.errors import OverloadedError, SpendLimitError
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
SPEND = {
    "type": "error",
    "error": {
        "type": "rate_limit_error",
        "message": "spend limit reached",
        "details": {"error_code": "enforced_spend_limit_reached"},
    },
}
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}

# Answers the stub gives, in order; the last one repeats.
SCRIPT: list[tuple[int, dict[str, Any] | str, dict[str, str]]] = []


async def messages(request: web.Request) -> web.Response:
    await request.read()
    status, body, headers = SCRIPT.pop(0) if len(SCRIPT) > 1 else SCRIPT[0]
    headers = {"request-id": "req_stub", **headers}
    if isinstance(body, str):
        return web.Response(text=body, status=status, headers=headers)
    return web.json_response(body, status=status, headers=headers)


@pytest.fixture
def stub_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    SCRIPT.clear()
    return {"/v1/messages": messages}


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]


async def test_2x_headers_by_default_and_retry_count(stub_server: Any) -> None:
    SCRIPT.extend([(529, OVERLOADED, {"retry-after-ms": "5"}), (200, MESSAGE, {})])
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        msg = await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert msg.text == "Hi"
    first, second = stub_server.seen
    assert first.headers["Authorization"] == "Bearer sk-k"
    assert first.headers["anthropic-version"] == "2026-10-21"
    assert "x-api-key" not in first.headers
    assert first.headers["x-stainless-retry-count"] == "0"
    assert second.headers["x-stainless-retry-count"] == "1"


def test_0x_header_style_is_selectable(stub_server: Any) -> None:
    SCRIPT.append((200, MESSAGE, {}))
    with SyncClaudeClient(
        _settings(), base_url=stub_server.url, api_key="sk-k", api_style="0.x"
    ) as claude:
        claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    (seen,) = stub_server.seen
    assert seen.headers["x-api-key"] == "sk-k"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in seen.headers


async def test_spend_limit_429_is_not_retried_async(stub_server: Any) -> None:
    SCRIPT.append((429, SPEND, {"retry-after": "1", "x-should-retry": "true"}))
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        with pytest.raises(SpendLimitError) as info:
            await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert len(stub_server.seen) == 1
    assert info.value.attempts == 1
    assert info.value.request_id == "req_stub"


def test_spend_limit_429_is_not_retried_sync(stub_server: Any) -> None:
    SCRIPT.append((429, SPEND, {"retry-after": "1"}))
    with (
        SyncClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude,
        pytest.raises(SpendLimitError),
    ):
        claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert len(stub_server.seen) == 1


async def test_x_should_retry_false_is_obeyed(stub_server: Any) -> None:
    SCRIPT.append((529, OVERLOADED, {"x-should-retry": "false"}))
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        with pytest.raises(OverloadedError):
            await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert len(stub_server.seen) == 1


async def test_request_body_is_what_the_caller_asked(stub_server: Any) -> None:
    SCRIPT.append((200, MESSAGE, {}))
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        await claude.create(
            model=HAIKU, max_tokens=8, messages=HELLO, system="Be brief", metadata={"user_id": "u"}
        )
    body = json.loads(await asyncio.wrap_future(_read(stub_server)))
    assert body == {
        "model": HAIKU,
        "max_tokens": 8,
        "messages": HELLO,
        "system": "Be brief",
        "metadata": {"user_id": "u"},
    }


def _read(stub_server: Any) -> Any:
    # The request body was read by the handler in the server's loop; read its cache there.
    return asyncio.run_coroutine_threadsafe(stub_server.seen[0].read(), stub_server.loop)


def test_a_key_alone_targets_the_real_api_and_never_shows() -> None:
    settings = Settings(_env_file=None, api_key="sk-ant-very-secret")  # type: ignore[call-arg]
    claude = SyncClaudeClient(settings)
    assert claude.core.base_url == "https://api.anthropic.com"
    assert not claude.core.embedded
    assert "sk-ant-very-secret" not in repr(claude)
    assert "sk-ant-very-secret" not in repr(claude.core)
    assert "sk-ant-very-secret" not in repr(settings)


async def test_extra_headers_ride_along(stub_server: Any) -> None:
    SCRIPT.append((200, MESSAGE, {}))
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        await claude.create(
            model=HAIKU,
            max_tokens=8,
            messages=HELLO,
            extra_headers={"Anthropic-Beta": "context-1m-2025-08-07"},
        )
    (seen,) = stub_server.seen
    assert seen.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert seen.headers["Authorization"] == "Bearer sk-k"


async def test_a_2xx_without_a_message_is_a_retryable_502(stub_server: Any) -> None:
    SCRIPT.extend([(200, "<html>proxy says hi</html>", {}), (200, MESSAGE, {})])
    async with ClaudeClient(_settings(), base_url=stub_server.url, api_key="sk-k") as claude:
        msg = await claude.create(model=HAIKU, max_tokens=8, messages=HELLO)
    assert msg.text == "Hi"
    assert msg.record is not None
    assert msg.record.attempts == 2


def test_a_retiring_model_is_announced_once_per_client(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """Deprecated (a retirement day to come) and retired (the day has come: the API answers
    404) are told apart; Opus 4.5's day is moved far off so the test does not expire with it."""
    shipped = (Path(claude_arch.core.__file__).parent / "models.toml").read_text()
    toml = tmp_path / "models.toml"
    toml.write_text(shipped.replace("retires = 2027-01-22", "retires = 2999-01-01"))
    with (
        caplog.at_level(logging.WARNING, logger="claude_arch"),
        EmulatorServer(speed=0, serve_retired=True) as emulator,  # the warning is the point
        SyncClaudeClient(
            settings, base_url=emulator.url, api_key="k", catalog=Catalog.load(toml)
        ) as client,
    ):
        for _ in range(2):
            client.create(model="claude-opus-4-5", max_tokens=8, messages=HELLO)
            client.create(model="claude-sonnet-4-5", max_tokens=8, messages=HELLO)
    lines = [r.getMessage() for r in caplog.records if "claude-arch models" in r.getMessage()]
    assert lines == [
        "claude-opus-4-5 is deprecated: the API stops serving it on 2999-01-01; "
        "see `claude-arch models`",
        "claude-sonnet-4-5 was retired on 2026-11-30: the Claude API answers 404 "
        "not_found_error for it; see `claude-arch models`",
    ]
