"""A system prompt with a NUL character (U+0000) is a 400 naming ``system``, on every SQL store.

PostgreSQL text cannot hold NUL: the session's INSERT failed with a DBAPIError, so a chat turn
whose system prompt had one ended in a 500 ``api_error`` after its upstream stream had opened.
The turns themselves are stored as JSON (NUL escaped) and were never affected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from chat_server import chat_service
from keys_databases import SQL_BACKENDS, database_for
from sqlalchemy import func, select

from claude_arch.core.sql import make_engine
from claude_arch.errors import InvalidRequestError
from claude_arch.service.chat.sessions_sql import SqlSessionStore, sessions_table
from claude_arch.testing import EmulatorServer


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_for(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlSessionStore]:
    store = SqlSessionStore(make_engine(database_url), owns_engine=True)
    await store.init()
    yield store
    await store.aclose()


async def test_a_nul_in_the_system_prompt_is_a_400_and_stores_nothing(
    store: SqlSessionStore,
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await store.create("key_1", model="claude-haiku-4-5", system="be\x00brief")
    assert caught.value.field == "system"
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(sessions_table))).scalar() == 0


async def test_a_nul_in_the_text_is_kept(store: SqlSessionStore) -> None:
    session = await store.create("key_1", system="be brief")
    turn = [{"role": "user", "content": "a\x00b"}, {"role": "assistant", "content": "ok"}]
    await store.append(session.id, "key_1", turn)
    assert (await store.get(session.id, "key_1")).messages == turn


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_for(request, "postgresql", tmp_path) as url:
        yield url


async def test_a_chat_turn_with_a_nul_system_prompt_is_a_400_on_postgresql(
    emulator: EmulatorServer, hits: list[str], tmp_path: Path, postgres_database: str
) -> None:
    async with chat_service(emulator, tmp_path, database_url=postgres_database) as svc:
        key = await svc.create_key("nul")
        async with httpx.AsyncClient(base_url=svc.url) as http:
            r = await http.post(
                "/v1/chat",
                headers={"x-api-key": key},
                json={"text": "hi", "system": "be\x00brief"},
            )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["type"] == "invalid_request_error"
        assert r.json()["error"]["message"].startswith("system:")
        assert svc.gateway.gate.inflight == 0
        # refused before the upstream call: nothing sent, nothing billed
        assert "/v1/messages" not in hits
        spent = await svc.gateway.quotas.spent(await svc.gateway.keys.authenticate(key))
        assert spent == 0
