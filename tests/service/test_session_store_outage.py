"""A session store that cannot be reached is a 502 ``api_error`` naming the session store (never
its address), as docs/service.md promises for a database outage, on both chat protocols' path.

Before, the driver's exception (ConnectionRefusedError, redis ConnectionError) escaped the store,
so ``POST /v1/chat`` answered 500 "internal error" and logged a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from chat_server import chat_service

from claude_arch.core.sql import make_engine
from claude_arch.service.chat.sessions import EXTRAS_NAME, SessionStore
from claude_arch.service.chat.sessions_redis import RedisSessionStore
from claude_arch.service.chat.sessions_sql import SqlSessionStore
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

DEAD_SQL = "postgresql://claude@127.0.0.1:1/gone"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
async def svc(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[ServiceServer]:
    async with chat_service(emulator, tmp_path, max_retries=0) as server:
        yield server


def dead_store(kind: str) -> SessionStore:
    if kind == "sql":
        store = SqlSessionStore(make_engine(DEAD_SQL), owns_engine=True)
        store._ready = True  # its tables "exist": the outage starts after startup
        return store
    return RedisSessionStore(DEAD_REDIS)


@pytest.mark.parametrize("kind", ["sql", "redis"])
@pytest.mark.parametrize("resume", [False, True])
async def test_an_unreachable_session_store_is_a_502_naming_no_address(
    svc: ServiceServer, caplog: pytest.LogCaptureFixture, kind: str, resume: bool
) -> None:
    key = await svc.create_key("outage")
    live = svc.gateway.extras[EXTRAS_NAME]
    svc.gateway.extras[EXTRAS_NAME] = dead = dead_store(kind)
    body = {"text": "hi", **({"session_id": "sess_" + "0" * 24} if resume else {})}
    try:
        with caplog.at_level(logging.WARNING):
            async with httpx.AsyncClient(base_url=svc.url) as http:
                r = await http.post("/v1/chat", headers={"x-api-key": key}, json=body)
    finally:
        svc.gateway.extras[EXTRAS_NAME] = live
        await dead.aclose()
    assert r.status_code == 502, r.text
    error = r.json()["error"]
    assert error["type"] == "api_error"
    assert "session store" in error["message"]
    assert "127.0.0.1" not in r.text
    assert not [rec for rec in caplog.records if rec.getMessage() == "unhandled error"]
    assert svc.gateway.gate.inflight == 0
