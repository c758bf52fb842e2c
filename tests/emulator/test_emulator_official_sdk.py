"""The official Python SDK (installed 2.x line) runs unchanged against the emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from claude_arch.testing import EmulatorServer

anthropic = pytest.importorskip("anthropic")

HAIKU = "claude-haiku-4-5"
HELLO: list[Any] = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_keys=["sk-ant-sdk"]) as server:
        yield server


@pytest.fixture
def sdk(emu: EmulatorServer) -> Iterator[Any]:
    with anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0) as client:
        yield client


def test_create_and_count_tokens(sdk: Any) -> None:
    message = sdk.messages.create(model=HAIKU, max_tokens=1024, messages=HELLO)
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    counted = sdk.messages.count_tokens(model=HAIKU, messages=HELLO)
    assert counted.input_tokens == message.usage.input_tokens


def test_stream_helper_text_tool_and_thinking(sdk: Any) -> None:
    with sdk.messages.stream(model=HAIKU, max_tokens=64, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text
    with sdk.messages.stream(
        model=HAIKU,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Use get_weather for Oslo"}],
    ) as stream:
        final = stream.get_final_message()
    kinds = [block.type for block in final.content]
    assert kinds[0] == "thinking"
    assert kinds[-1] == "tool_use"
    assert final.content[0].signature
    assert isinstance(final.content[-1].input["city"], str)
    assert final.stop_reason == "tool_use"


def test_raw_stream_events(sdk: Any) -> None:
    events = list(sdk.messages.create(model=HAIKU, max_tokens=32, messages=HELLO, stream=True))
    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"


def test_batches_with_results(sdk: Any) -> None:
    batch = sdk.messages.batches.create(
        requests=[
            {"custom_id": f"r{i}", "params": {"model": HAIKU, "max_tokens": 16, "messages": HELLO}}
            for i in range(3)
        ]
    )
    deadline = time.monotonic() + 10
    while batch.processing_status != "ended" and time.monotonic() < deadline:
        time.sleep(0.01)
        batch = sdk.messages.batches.retrieve(batch.id)
    results = {r.custom_id: r.result for r in sdk.messages.batches.results(batch.id)}
    assert sorted(results) == ["r0", "r1", "r2"]
    assert all(r.type == "succeeded" for r in results.values())
    assert [b.id for b in sdk.messages.batches.list(limit=5)] == [batch.id]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"messages": [{"role": "user", "content": [{"type": "nope"}]}]}, "BadRequestError"),
        ({"model": "claude-haiku-4-20250514"}, "NotFoundError"),
    ],
)
def test_typed_errors_carry_request_ids(sdk: Any, change: dict[str, Any], error: str) -> None:
    params = {"model": HAIKU, "max_tokens": 16, "messages": HELLO, **change}
    with pytest.raises(getattr(anthropic, error)) as info:
        sdk.messages.create(**params)
    assert info.value.request_id.startswith("req_01")


def test_401_413_429_529_are_typed(emu: EmulatorServer, sdk: Any) -> None:
    with (
        anthropic.Anthropic(base_url=emu.url, api_key="sk-wrong", max_retries=0) as wrong,
        pytest.raises(anthropic.AuthenticationError),
    ):
        wrong.messages.create(model=HAIKU, max_tokens=16, messages=HELLO)
    emu.set_faults({"kind": "429", "next_n": 1}, {"kind": "529", "next_n": 1})
    with pytest.raises(anthropic.RateLimitError):
        sdk.messages.create(model=HAIKU, max_tokens=16, messages=HELLO)
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        sdk.messages.create(model=HAIKU, max_tokens=16, messages=HELLO)
    assert overloaded.value.status_code == 529
    with (
        EmulatorServer(max_request_bytes=2000) as small,
        anthropic.Anthropic(base_url=small.url, api_key=small.api_key, max_retries=0) as client,
    ):
        with pytest.raises(anthropic.APIStatusError) as too_large:
            client.messages.create(
                model=HAIKU, max_tokens=16, messages=[{"role": "user", "content": "x" * 5000}]
            )
        assert too_large.value.status_code == 413


def test_sdk_retries_honour_retry_after(emu: EmulatorServer) -> None:
    emu.set_faults({"kind": "529", "next_n": 1, "seconds": 1})
    with anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=2) as sdk:
        started = time.monotonic()
        message = sdk.messages.create(model=HAIKU, max_tokens=16, messages=HELLO)
        waited = time.monotonic() - started
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert waited >= 0.9  # it slept the server's retry-after (1 s), not its own 0.5 s backoff
    totals = emu.stats()["totals"]
    assert totals["fault_529"] == 1
    assert totals["requests"] == 1
