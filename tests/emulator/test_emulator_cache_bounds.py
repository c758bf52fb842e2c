"""The prompt cache stays bounded under a long run of distinct live prefixes."""

from __future__ import annotations

from claude_arch.emulator.prompt_cache import PromptCache
from claude_arch.testing import ManualClock


def _params(i: int) -> dict[str, object]:
    return {
        "model": "claude-haiku-4-5",
        "system": [
            {
                "type": "text",
                "text": f"prefix {i}",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            }
        ],
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_live_entries_are_capped_and_the_newest_still_read() -> None:
    clock = ManualClock()
    cache = PromptCache(min_tokens=1, clock=clock)
    largest = 0
    for i in range(120_000):  # all within their hour: nothing has expired
        cache.apply(_params(i), scope="k", total_tokens=20)
        largest = max(largest, len(cache))
    assert largest <= 60_000
    assert cache.apply(_params(119_999), scope="k", total_tokens=20).read > 0
