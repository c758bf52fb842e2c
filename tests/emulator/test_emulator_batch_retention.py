"""Ended batches are kept up to ``max_batches``: a long run does not grow without bound."""

from __future__ import annotations

import httpx
from api_shapes import body, headers
from test_emulator_batches import wait_ended

from claude_arch.testing import EmulatorServer

BATCHES = "/v1/messages/batches"


def test_oldest_ended_batches_are_forgotten_past_the_cap() -> None:
    with (
        EmulatorServer(max_batches=3, batch_seconds_per_request=0) as emu,
        httpx.Client(base_url=emu.url, headers=headers(emu.api_key)) as http,
    ):
        ids = []
        for i in range(5):
            batch = {"requests": [{"custom_id": f"r{i}", "params": body(max_tokens=8)}]}
            ids.append(http.post(BATCHES, json=batch).json()["id"])
            wait_ended(http, ids[-1])
        listed = [b["id"] for b in http.get(BATCHES, params={"limit": 100}).json()["data"]]
        assert listed == ids[:1:-1]
        assert http.get(f"{BATCHES}/{ids[0]}").status_code == 404
        assert http.get(f"{BATCHES}/{ids[-1]}/results").status_code == 200
