"""Parallel tool calls: a prompt naming several tools gets one tool_use per tool (JSON and SSE,
through the official SDK), never more than one with ``disable_parallel_tool_use``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_shapes import HAIKU, body, headers, sse_events, without_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.tokens import count_text
from claude_arch.testing import EmulatorServer

anthropic = pytest.importorskip("anthropic")


def tool(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name.replace('_', ' ')} for a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city"],
        },
    }


TOOLS = [tool("get_weather"), tool("get_time"), tool("get_news")]
NAMES = [t["name"] for t in TOOLS]
ASK_TWO = "Call get_time and get_weather for Oslo, please"


def output_tokens(content: list[dict[str, Any]]) -> int:
    """What the emulator must bill for ``content``: text, and each call's name and JSON input."""
    total = 0
    for block in content:
        if block["type"] == "text":
            total += count_text(block["text"])
        elif block["type"] == "tool_use":
            raw = json.dumps(block["input"], separators=(",", ":"))
            total += count_text(block["name"]) + count_text(raw)
    return total


@pytest.fixture
def sdk(emu: EmulatorServer) -> Iterator[Any]:
    with anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        EmulatorServer(rate_limit_tier="none") as emu,
        httpx.Client(base_url=emu.url, headers=headers(emu.api_key), timeout=10) as client,
    ):
        yield client


def test_several_named_tools_are_called_in_parallel_json_and_streamed(sdk: Any) -> None:
    params = {
        "model": HAIKU,
        "max_tokens": 1024,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": ASK_TWO}],
    }
    created = sdk.messages.create(**params)
    assert [b.type for b in created.content] == ["text", "tool_use", "tool_use"]
    calls = created.content[1:]
    assert [c.name for c in calls] == ["get_weather", "get_time"]  # in the order of tools
    assert all(c.id.startswith("toolu_01") for c in calls)
    assert calls[0].id != calls[1].id
    assert all(isinstance(c.input["city"], str) for c in calls)
    assert created.stop_reason == "tool_use"
    dumped = created.model_dump()
    assert created.usage.output_tokens == output_tokens(dumped["content"])
    with sdk.messages.stream(**params) as stream:
        final = stream.get_final_message()
    assert without_ids(final) == without_ids(created)
    assert [c.id for c in final.content[1:]] != [c.id for c in calls]  # fresh IDs per answer


def test_each_tool_block_streams_from_an_empty_input(http: httpx.Client) -> None:
    payload = body(ASK_TWO, tools=TOOLS, tool_choice={"type": "any"}, max_tokens=1024)
    plain = http.post("/v1/messages", json=payload).json()
    events = sse_events(http.post("/v1/messages", json={**payload, "stream": True}).text)
    starts = [d for n, d in events if n == "content_block_start"]
    assert [s["index"] for s in starts] == [0, 1]  # forced: no text before the calls
    for start, block in zip(starts, plain["content"], strict=True):
        assert start["content_block"]["type"] == "tool_use"
        assert start["content_block"]["input"] == {}
        fragments = [
            d["delta"]["partial_json"]
            for n, d in events
            if n == "content_block_delta" and d["index"] == start["index"]
        ]
        assert fragments[0] == ""
        assert json.loads("".join(fragments)) == block["input"]
    final = next(d for n, d in events if n == "message_delta")
    assert final["delta"]["stop_reason"] == "tool_use"
    assert final["usage"]["output_tokens"] == plain["usage"]["output_tokens"]


def test_disable_parallel_tool_use_gives_one_call(sdk: Any) -> None:
    message = sdk.messages.create(
        model=HAIKU,
        max_tokens=1024,
        tools=TOOLS,
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": ASK_TWO}],
    )
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[1].name == "get_weather"


def test_a_named_tool_choice_calls_only_that_tool(http: httpx.Client) -> None:
    choice = {"type": "tool", "name": "get_news"}
    reply = http.post("/v1/messages", json=body(ASK_TWO, tools=TOOLS, tool_choice=choice)).json()
    assert [(b["type"], b.get("name")) for b in reply["content"]] == [("tool_use", "get_news")]


def test_scripted_parallel_calls(emu: EmulatorServer, client: httpx.Client) -> None:
    calls = [
        {"name": "get_weather", "input": {"city": "Oslo"}},
        {"name": "get_time", "input": {"city": "Lima"}},
    ]
    emu.script(user="(?i)plan", text="Checking both.", tool_use=calls)
    payload = body("Plan my trip", tools=TOOLS)
    reply = client.post("/v1/messages", json=payload).json()
    assert [b.get("text") or (b["name"], b["input"]) for b in reply["content"]] == [
        "Checking both.",
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"city": "Lima"}),
    ]
    assert reply["stop_reason"] == "tool_use"
    assert reply["usage"]["output_tokens"] == output_tokens(reply["content"])
    one = {"type": "auto", "disable_parallel_tool_use": True}
    reply = client.post("/v1/messages", json={**payload, "tool_choice": one}).json()
    assert [b["type"] for b in reply["content"]] == ["text", "tool_use"]
    assert reply["content"][1]["input"] == {"city": "Oslo"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    named=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
    kind=st.sampled_from(["auto", "any"]),
    disable=st.sampled_from([None, False, True]),
    stream=st.booleans(),
)
def test_calls_are_the_named_tools_in_order_and_one_when_parallel_is_disabled(
    http: httpx.Client, named: list[str], kind: str, disable: bool | None, stream: bool
) -> None:
    choice: dict[str, Any] = {"type": kind}
    if disable is not None:
        choice["disable_parallel_tool_use"] = disable
    prompt = "Please use " + " then ".join(named)
    payload = body(prompt, tools=TOOLS, tool_choice=choice, max_tokens=2048)
    reply = http.post("/v1/messages", json=payload).json()
    called = [b["name"] for b in reply["content"] if b["type"] == "tool_use"]
    in_order = [n for n in NAMES if n in named]
    assert called == (in_order[:1] if disable else in_order)
    assert reply["stop_reason"] == "tool_use"
    assert reply["usage"]["output_tokens"] == output_tokens(reply["content"])
    if stream:
        events = sse_events(http.post("/v1/messages", json={**payload, "stream": True}).text)
        opened = [d["content_block"] for n, d in events if n == "content_block_start"]
        assert [b["name"] for b in opened if b["type"] == "tool_use"] == called
        usage = next(d["usage"] for n, d in events if n == "message_delta")
        assert usage["output_tokens"] == reply["usage"]["output_tokens"]
