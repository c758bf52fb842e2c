"""A budget holds under concurrency when calls write to the prompt cache: the worst case a call
reserves prices its input at the cache-write rate its ``cache_control`` marks ask for (2x the
input price for an hour), so 50 concurrent calls with a unique cached ~3,600-token system block
never spend more than the key's budget — read back from the store, in-process and in Redis."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

MODEL = "claude-haiku-4-5"
BUDGET = Decimal("0.05")
CALLS = 50


def body(i: int) -> dict[str, object]:
    words = " ".join(f"clause{i}-{n} of the standing instructions" for n in range(600))
    return {
        "model": MODEL,
        "max_tokens": 64,
        "system": [
            {"type": "text", "text": words, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ],
        "messages": [{"role": "user", "content": f"Question {i}?"}],
    }


async def spend_concurrently(svc: ServiceServer) -> tuple[Decimal, list[httpx.Response]]:
    secret = await svc.create_key("cached", budget_usd=BUDGET, budget_period="total")
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=svc.url, headers=headers, timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post("/v1/messages", json=body(i)) for i in range(CALLS))
        )
    key = await svc.gateway.keys.authenticate(secret)
    return await svc.gateway.quotas.spent(key), list(answers)


@pytest.mark.parametrize("store", ["in-process", "redis"])
async def test_concurrent_cache_writes_never_overrun_the_budget(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    limits = {"redis_url": request.getfixturevalue("redis_url")} if store == "redis" else {}
    async with (
        EmulatorServer(cache_min_tokens=1024) as emu,
        ServiceServer.for_emulator(emu, tmp_path, max_inflight=CALLS, **limits) as svc,
    ):
        spent, answers = await spend_concurrently(svc)
    admitted = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(admitted) + len(refused) == CALLS, {a.status_code for a in answers}
    assert admitted, "no call fitted the budget"
    assert refused, "every call fitted: the test no longer probes the limit"
    # every admitted call really wrote its block to the cache at the 1-hour rate
    writes = [a.json()["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] for a in admitted]
    assert all(w > 3000 for w in writes), writes
    assert all(
        a.json()["error"]["details"]["error_code"] == "enforced_spend_limit_reached"
        for a in refused
    )
    assert Decimal(0) < spent <= BUDGET
