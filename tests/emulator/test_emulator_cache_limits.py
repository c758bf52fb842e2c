"""Cache reads do not count against input tokens per minute, at admission too (as on the API)."""

from __future__ import annotations

import httpx
from api_shapes import HAIKU, headers

from claude_arch.testing import EmulatorServer, ManualClock


def test_a_cached_prefix_larger_than_what_is_left_is_still_admitted() -> None:
    clock = ManualClock()  # frozen: the bucket does not refill during the test
    limits = {"haiku": {"rpm": 1000, "itpm": 3000, "otpm": 100_000}}
    with EmulatorServer(clock=clock, limits=limits, cache_min_tokens=10) as emu:
        system = [{"type": "text", "text": "word " * 2000, "cache_control": {"type": "ephemeral"}}]
        request = {
            "model": HAIKU,
            "max_tokens": 16,
            "system": system,
            "messages": [{"role": "user", "content": "hi"}],
        }
        with httpx.Client(base_url=emu.url, headers=headers(emu.api_key)) as http:
            first = http.post("/v1/messages", json=request)
            assert first.status_code == 200, first.text
            assert first.json()["usage"]["cache_creation_input_tokens"] > 2000
            left = int(first.headers["anthropic-ratelimit-input-tokens-remaining"])
            assert left < 2000  # less than the cached prefix is left in the bucket
            second = http.post("/v1/messages", json=request)
            assert second.status_code == 200, second.text
            assert second.json()["usage"]["cache_read_input_tokens"] > 2000


def test_count_tokens_is_the_whole_prompt_cached_or_not(emu: EmulatorServer) -> None:
    system = [{"type": "text", "text": "word " * 1500, "cache_control": {"type": "ephemeral"}}]
    request = {
        "model": HAIKU,
        "max_tokens": 16,
        "system": system,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with httpx.Client(base_url=emu.url, headers=headers(emu.api_key)) as http:
        counting = {k: v for k, v in request.items() if k != "max_tokens"}  # not a count field
        counted = http.post("/v1/messages/count_tokens", json=counting).json()["input_tokens"]
        for _ in range(2):  # a cache write, then a cache read
            usage = http.post("/v1/messages", json=request).json()["usage"]
            parts = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            assert sum(usage[p] for p in parts) == counted
        assert usage["cache_read_input_tokens"] > 0
