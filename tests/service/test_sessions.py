"""Session stores on SQLite, PostgreSQL and Redis: ownership, order, bounds, expiry, races."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keys_databases import database_for

from claude_arch.core.sql import make_engine
from claude_arch.errors import NotFoundError
from claude_arch.service.chat.sessions import (
    SessionLimits,
    SessionStore,
    sessions_from_settings,
)
from claude_arch.service.chat.sessions_redis import RedisSessionStore
from claude_arch.service.chat.sessions_sql import SqlSessionStore
from claude_arch.service.config import ServiceSettings

BACKENDS = ["sqlite", "postgresql", "redis"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def turn(question: str, answer: str = "ok") -> list[dict[str, Any]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    with database_for(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_store(url: str, limits: SessionLimits, clock: Clock) -> SessionStore:
    if url.startswith("redis"):
        prefix = f"test-sessions:{secrets.token_hex(4)}:"  # apart from other tests on db 15
        return RedisSessionStore(url, limits=limits, prefix=prefix, now=clock)
    return SqlSessionStore(make_engine(url), limits=limits, owns_engine=True, now=clock)


@pytest.fixture
async def open_store(backend_url: str, clock: Clock) -> AsyncIterator[Any]:
    stores: list[SessionStore] = []

    async def opener(**limits: Any) -> SessionStore:
        store = make_store(backend_url, SessionLimits(**limits), clock)
        await store.init()
        stores.append(store)
        return store

    yield opener
    for store in stores:
        await store.aclose()


async def test_turns_come_back_in_order_with_model_and_system(open_store: Any) -> None:
    store = await open_store()
    session = await store.create("key_a", model="claude-haiku-4-5", system="Be brief.")
    await store.append(session.id, "key_a", turn("one", "1"))
    await store.append(session.id, "key_a", turn("two", "2"))
    got = await store.get(session.id, "key_a")
    assert (got.model, got.system, got.key_id) == ("claude-haiku-4-5", "Be brief.", "key_a")
    assert [m["content"] for m in got.messages] == ["one", "1", "two", "2"]
    assert got.created_at <= got.updated_at


async def test_another_keys_session_is_a_404_like_a_missing_one(open_store: Any) -> None:
    store = await open_store()
    session = await store.create("key_a")
    await store.append(session.id, "key_a", turn("secret plans"))
    for call in (
        store.get(session.id, "key_b"),
        store.append(session.id, "key_b", turn("x")),
        store.delete(session.id, "key_b"),
        store.get("sess_000000000000000000000000", "key_a"),
    ):
        with pytest.raises(NotFoundError) as info:
            await call
        assert info.value.status == 404
    assert len((await store.get(session.id, "key_a")).turns) == 1  # untouched
    await store.delete(session.id, "key_a")
    with pytest.raises(NotFoundError):
        await store.get(session.id, "key_a")


async def test_the_oldest_turns_go_beyond_max_turns(open_store: Any) -> None:
    store = await open_store(max_turns=3)
    session = await store.create("k")
    for n in range(7):
        await store.append(session.id, "k", turn(f"q{n}"))
    got = await store.get(session.id, "k")
    assert [t[0]["content"] for t in got.turns] == ["q4", "q5", "q6"]


async def test_the_oldest_turns_go_beyond_max_bytes(open_store: Any) -> None:
    store = await open_store(max_bytes=400)
    session = await store.create("k")
    for n in range(10):
        await store.append(session.id, "k", turn(f"q{n} " + "x" * 80))
    got = await store.get(session.id, "k")
    assert 1 < len(got.turns) < 10
    assert got.turns[-1][0]["content"].startswith("q9")
    assert sum(len(_json(t)) for t in got.turns) <= 400
    # a turn larger than the bound on its own is still kept: the newest is never dropped
    await store.append(session.id, "k", turn("big " + "y" * 1000))
    got = await store.get(session.id, "k")
    assert len(got.turns) == 1
    assert got.turns[0][0]["content"].startswith("big")


async def test_concurrent_appends_keep_every_turn_and_the_bound(open_store: Any) -> None:
    store = await open_store(max_turns=5)
    unbounded = await open_store()
    small = await store.create("k")
    large = await unbounded.create("k")
    await asyncio.gather(*(store.append(small.id, "k", turn(f"q{n}")) for n in range(20)))
    await asyncio.gather(*(unbounded.append(large.id, "k", turn(f"q{n}")) for n in range(20)))
    assert len((await store.get(small.id, "k")).turns) == 5
    kept = (await unbounded.get(large.id, "k")).turns
    assert sorted(t[0]["content"] for t in kept) == sorted(f"q{n}" for n in range(20))


async def test_sql_sessions_expire_after_ttl_and_are_purged(tmp_path: Path) -> None:
    clock = Clock()
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = SqlSessionStore(
        make_engine(url), limits=SessionLimits(ttl_s=3600), owns_engine=True, now=clock
    )
    try:
        old = await store.create("k")
        clock.now += timedelta(minutes=50)
        await store.append(old.id, "k", turn("still here"))  # use renews the expiry
        clock.now += timedelta(minutes=50)
        assert len((await store.get(old.id, "k")).turns) == 1
        clock.now += timedelta(minutes=61)
        for call in (store.get(old.id, "k"), store.append(old.id, "k", turn("late"))):
            with pytest.raises(NotFoundError):
                await call
        fresh = await store.create("k")  # creating purges what expired
        assert await store.purge_expired() == 0
        assert (await store.get(fresh.id, "k")).turns == []
    finally:
        await store.aclose()


async def test_redis_sessions_expire_after_ttl(redis_url: str) -> None:
    store = RedisSessionStore(
        redis_url, limits=SessionLimits(ttl_s=1), prefix=f"test-sessions:{secrets.token_hex(4)}:"
    )
    try:
        session = await store.create("k")
        await store.append(session.id, "k", turn("short-lived"))
        meta, turns = store._keys(session.id)
        assert 0 < await store.client.ttl(meta) <= 1
        assert 0 < await store.client.ttl(turns) <= 1
        deadline = time.monotonic() + 5
        while True:  # Redis expires it; poll rather than sleep a fixed time
            try:
                await store.get(session.id, "k")
            except NotFoundError:
                break
            assert time.monotonic() < deadline, "the session did not expire"
            await asyncio.sleep(0.1)
    finally:
        await store.aclose()


async def test_the_factory_picks_the_store_by_url(tmp_path: Path, redis_url: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'svc.db'}")
    try:

        def settings(url: str | None) -> ServiceSettings:
            return ServiceSettings(_env_file=None, session_url=url)  # type: ignore[call-arg]

        default = sessions_from_settings(settings(None), engine)
        assert isinstance(default, SqlSessionStore)
        assert default.engine is engine
        other = sessions_from_settings(settings(f"sqlite:///{tmp_path / 'other.db'}"), engine)
        assert isinstance(other, SqlSessionStore)
        assert other.engine is not engine
        await other.init()
        await other.ping()
        await other.aclose()
        redis_store = sessions_from_settings(settings(redis_url), engine)
        assert isinstance(redis_store, RedisSessionStore)
        await redis_store.ping()
        await redis_store.aclose()
    finally:
        await engine.dispose()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=12),
    max_turns=st.integers(1, 6),
    max_bytes=st.integers(50, 1500),
)
def test_sql_bounds_hold_for_any_sequence(sizes: list[int], max_turns: int, max_bytes: int) -> None:
    async def run() -> list[list[dict[str, Any]]]:
        store = SqlSessionStore(
            make_engine("sqlite:///:memory:"),
            limits=SessionLimits(max_turns=max_turns, max_bytes=max_bytes),
            owns_engine=True,
        )
        try:
            session = await store.create("k")
            for n, size in enumerate(sizes):
                await store.append(session.id, "k", turn(f"{n}:" + "z" * size))
            return (await store.get(session.id, "k")).turns
        finally:
            await store.aclose()

    kept = asyncio.run(run())
    numbers = [int(t[0]["content"].split(":")[0]) for t in kept]
    assert numbers == list(range(len(sizes) - len(kept), len(sizes)))  # the newest, in order
    assert 1 <= len(kept) <= max_turns  # the newest turn is always there
    held = sum(len(_json(t)) for t in kept)
    if len(kept) > 1:
        assert held <= max_bytes
    if len(kept) < min(len(sizes), max_turns):  # dropped for bytes: one more would not fit
        assert held + len(_json(turn(f"{numbers[0] - 1}:" + "z" * sizes[numbers[0] - 1]))) > (
            max_bytes
        )


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
