"""An upstream failure the gateway already retried tells the SDK not to retry it again
(``x-should-retry: false``); one it did not retry leaves the SDK's own policy alone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

HELLO = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.parametrize(("retries", "told"), [(1, "false"), (0, None)])
async def test_a_retried_failure_is_not_retried_again(
    emulator: EmulatorServer, tmp_path: Path, retries: int, told: str | None
) -> None:
    emulator.set_faults({"kind": "529", "every": 1, "seconds": 0})
    async with (
        ServiceServer.for_emulator(emulator, tmp_path, dev=True, max_retries=retries) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=30) as http,
    ):
        r = await http.post("/v1/messages", json=HELLO)
    assert r.status_code == 529
    assert r.json()["error"]["type"] == "overloaded_error"
    assert r.headers.get("x-should-retry") == told
    assert emulator.stats()["totals"]["fault_529"] == retries + 1
