"""SSE over real HTTP: event order, deltas that rebuild the reply, cancellation on disconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import httpx
from api_shapes import body, headers, sse_events
from test_emulator_messages import WEATHER

from claude_arch.testing import EmulatorServer


def rebuild(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Accumulate a stream into a message the way the SDKs do."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for name, data in events:
        if name == "message_start":
            message = data["message"]
        elif name == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "citations_delta":
                block["citations"].append(delta["citation"])
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial[data["index"]])
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"].update(data["usage"])
    return message


def test_stream_event_order_and_same_content_as_json(client: httpx.Client) -> None:
    payload = body(
        "Stream please, and call get_weather",
        max_tokens=3000,
        tools=[WEATHER],
        tool_choice={"type": "auto"},
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    plain = client.post("/v1/messages", json=payload).json()
    r = client.post("/v1/messages", json={**payload, "stream": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["request-id"].startswith("req_01")
    events = sse_events(r.text)
    names = [n for n, _ in events]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names[1] == "content_block_start"
    assert names[2] == "ping"
    start = events[0][1]["message"]
    assert start["content"] == []
    assert start["stop_reason"] is None
    tool_start = next(
        d
        for n, d in events
        if n == "content_block_start" and d["content_block"]["type"] == "tool_use"
    )
    assert tool_start["content_block"]["input"] == {}
    tool_index = tool_start["index"]
    first_json = next(
        d for n, d in events if n == "content_block_delta" and d["index"] == tool_index
    )
    assert first_json["delta"] == {"type": "input_json_delta", "partial_json": ""}
    assert any(
        d["delta"]["type"] == "signature_delta" for n, d in events if n == "content_block_delta"
    )
    message = rebuild(events)
    for a, b in zip(message["content"], plain["content"], strict=True):
        assert {k: v for k, v in a.items() if k != "id"} == {
            k: v for k, v in b.items() if k != "id"
        }
    assert message["stop_reason"] == plain["stop_reason"] == "tool_use"
    assert message["usage"]["output_tokens"] == plain["usage"]["output_tokens"]


def test_paced_stream_still_completes_and_counts(emu: EmulatorServer) -> None:
    with EmulatorServer(speed=1000) as paced:
        r = httpx.post(paced.url + "/v1/messages", json=body(stream=True), headers=headers())
        assert sse_events(r.text)[-1][0] == "message_stop"
        totals = paced.stats()["totals"]
        assert totals["streams_started"] == totals["streams_completed"] == 1


def test_long_waits_send_pings() -> None:
    slow_start = {"haiku": {"ttft_s": 0.35, "tokens_per_s": 10_000, "jitter": 0}}
    with EmulatorServer(speed=1, latency=slow_start, ping_interval_s=0.1) as emu:
        r = httpx.post(emu.url + "/v1/messages", json=body(stream=True), headers=headers())
        names = [n for n, _ in sse_events(r.text)]
        first_delta = names.index("content_block_delta")
        # 0.35 s to the first token at one ping per 0.1 s of waiting, plus the usual one.
        assert names[:first_delta].count("ping") == 4
        assert names[-1] == "message_stop"


async def test_client_disconnect_cancels_generation_quickly() -> None:
    async with EmulatorServer(speed=1) as emu, aiohttp.ClientSession() as session:
        # Realistic speed: a long reply would take many seconds; we leave after the first bytes.
        payload = body("Write a long essay", max_tokens=4000, stream=True)
        response = await session.post(emu.url + "/v1/messages", json=payload, headers=headers())
        await response.content.readuntil(b"message_start")
        response.close()
        for _ in range(200):
            if emu.stats()["totals"].get("streams_cancelled"):
                break
            await asyncio.sleep(0.01)
        stats = emu.stats()
        assert stats["totals"]["streams_cancelled"] == 1
        assert stats["totals"].get("streams_completed", 0) == 0
        assert max(stats["stream_stop_ms"]) < 100
