"""Statistics: a counter that was never hit is absent rather than 0 (docs/emulator.md)."""

from __future__ import annotations

import httpx
from api_shapes import HAIKU, body

from claude_arch.testing import EmulatorServer


def test_counters_never_hit_are_absent(emu: EmulatorServer, client: httpx.Client) -> None:
    assert client.post("/v1/messages", json=body()).status_code == 200
    stats = emu.stats()
    for counts in (stats["totals"], stats["by_model"][HAIKU]):
        assert counts["requests"] == 1
        assert "cache_read_input_tokens" not in counts
        assert "cache_creation_input_tokens" not in counts
        assert 0 not in counts.values()
