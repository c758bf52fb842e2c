"""Prompt caching over real HTTP: breakpoints write then read, TTLs expire, usage splits by TTL."""

from __future__ import annotations

from typing import Any

import httpx
from api_shapes import assert_error_shape, body, headers

from claude_arch.core.tokens import count_request
from claude_arch.testing import EmulatorServer, ManualClock

LONG = "policy " * 1500


def cached_system(ttl: str | None = None) -> list[dict[str, Any]]:
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    return [{"type": "text", "text": LONG, "cache_control": control}]


def usage(http: httpx.Client, payload: dict[str, Any]) -> dict[str, Any]:
    r = http.post("/v1/messages", json=payload)
    assert r.status_code == 200, r.text
    return dict(r.json()["usage"])


def test_first_call_writes_second_reads_and_ttl_expires() -> None:
    clock = ManualClock()
    with (
        EmulatorServer(clock=clock) as emu,
        httpx.Client(base_url=emu.url, headers=headers()) as http,
    ):
        payload = body("Question one", system=cached_system())
        total = count_request(payload)
        first = usage(http, payload)
        written = first["cache_creation_input_tokens"]
        assert written > 1500
        assert first["cache_creation"]["ephemeral_5m_input_tokens"] == written
        assert first["cache_read_input_tokens"] == 0
        assert first["input_tokens"] + written == total
        second = usage(http, body("Question two", system=cached_system()))
        assert second["cache_read_input_tokens"] == written
        assert second["cache_creation_input_tokens"] == 0
        clock.advance(299)  # a read refreshed the entry: still alive 299 s later
        assert usage(http, payload)["cache_read_input_tokens"] == written
        clock.advance(301)
        assert usage(http, payload)["cache_read_input_tokens"] == 0
        stats = emu.stats()["totals"]
        assert stats["cache_read_input_tokens"] == 2 * written


def test_one_hour_ttl_and_per_key_isolation() -> None:
    clock = ManualClock()
    with EmulatorServer(clock=clock) as emu, httpx.Client(base_url=emu.url) as http:
        payload = body("Q", system=cached_system("1h"))
        first = http.post("/v1/messages", json=payload, headers=headers("a")).json()["usage"]
        assert first["cache_creation"]["ephemeral_1h_input_tokens"] > 0
        other = http.post("/v1/messages", json=payload, headers=headers("b")).json()["usage"]
        assert other["cache_read_input_tokens"] == 0
        clock.advance(1800)
        again = http.post("/v1/messages", json=payload, headers=headers("a")).json()["usage"]
        assert again["cache_read_input_tokens"] == first["cache_creation_input_tokens"]


def test_short_prefixes_are_not_cached_and_top_level_cache_control(client: httpx.Client) -> None:
    short = body(
        "hi", system=[{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    )
    assert usage(client, short)["cache_creation_input_tokens"] == 0
    auto = body(LONG, cache_control={"type": "ephemeral"})
    assert usage(client, auto)["cache_creation_input_tokens"] > 0
    assert usage(client, auto)["cache_read_input_tokens"] > 0


def test_more_than_four_breakpoints_is_400(client: httpx.Client) -> None:
    block = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    r = client.post("/v1/messages", json=body([block] * 5))
    assert "maximum of 4" in assert_error_shape(r, 400, "invalid_request_error")
