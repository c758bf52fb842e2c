"""Statistics: a counter that was never hit is absent rather than 0 (docs/emulator.md)."""

from __future__ import annotations

import httpx
from api_shapes import HAIKU, body

from claude_arch.emulator.stats import MAX_KEYS, OTHER_KEYS, ServerStats
from claude_arch.testing import EmulatorServer


def test_counters_never_hit_are_absent(emu: EmulatorServer, client: httpx.Client) -> None:
    assert client.post("/v1/messages", json=body()).status_code == 200
    stats = emu.stats()
    for counts in (stats["totals"], stats["by_model"][HAIKU]):
        assert counts["requests"] == 1
        assert "cache_read_input_tokens" not in counts
        assert "cache_creation_input_tokens" not in counts
        assert 0 not in counts.values()


def test_keys_beyond_the_cap_are_counted_together() -> None:
    stats = ServerStats()
    for n in range(MAX_KEYS + 5):
        stats.add("claude-haiku-4-5", f"key_{n}", requests=1)
    snap = stats.snapshot()
    assert len(snap["by_key"]) == MAX_KEYS + 1
    assert snap["by_key"][OTHER_KEYS] == {"requests": 5}
    assert snap["totals"]["requests"] == MAX_KEYS + 5
