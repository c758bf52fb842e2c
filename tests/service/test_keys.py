"""The key store on SQLite and PostgreSQL: hashed at rest, cached, revocable, never leaking."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from keys_databases import SQL_BACKENDS, database_for
from sqlalchemy import event, select
from sqlalchemy import util as sqlalchemy_util

from claude_arch.core.sql import make_engine
from claude_arch.errors import AuthenticationError, InvalidRequestError, NotFoundError
from claude_arch.service.tenancy import keys as keys_module
from claude_arch.service.tenancy.keys import ApiKey, KeyStore, keys_table
from claude_arch.testing import ManualClock


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_for(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(engine: Any, clock: ManualClock) -> KeyStore:
    store = KeyStore(engine, cache_ttl_s=5.0, clock=clock)
    await store.init()
    return store


def count_queries(engine: Any) -> list[str]:
    """Every SQL statement the engine sends from now on (observed, not mocked)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_create_then_authenticate(store: KeyStore) -> None:
    key, secret = await store.create("team-a", rpm=60, tpm=100_000, budget_usd=Decimal("25.5"))
    assert secret.startswith("sk-ca-")
    assert len(secret) == 6 + 16 + 1 + 43  # sk-ca-<lookup>_<random>
    assert secret.startswith(key.prefix)
    assert len(key.prefix) == 12
    assert key.id == "key_" + secret[6:22]  # the lookup part names the key
    assert key.rpm == 60
    assert key.tpm == 100_000
    assert key.budget_usd == Decimal("25.5")
    assert key.budget_period == "month"
    got = await store.authenticate(secret)
    assert got == key
    assert secret not in repr(got)


async def test_the_row_holds_the_hash_not_the_secret(store: KeyStore, engine: Any) -> None:
    _, secret = await store.create("team-a")
    async with engine.connect() as conn:
        row = (await conn.execute(select(keys_table))).one()
    values = [str(v) for v in row]
    scheme, salt, digest = row.secret_hash.split("$")
    assert scheme == "s1"
    salt_bytes = base64.urlsafe_b64decode(salt + "==")
    assert len(salt_bytes) == 12
    expected = hashlib.sha256(salt_bytes + secret.encode()).digest()
    assert base64.urlsafe_b64decode(digest + "=") == expected
    assert hashlib.sha256(secret.encode()).hexdigest() not in values  # salted, not plain
    random_part = secret[-43:]
    assert not any(secret in v or random_part in v for v in values)


async def test_two_keys_never_share_a_salt(store: KeyStore, engine: Any) -> None:
    for n in range(5):
        await store.create(f"team-{n}")
    async with engine.connect() as conn:
        hashes = [row.secret_hash for row in (await conn.execute(select(keys_table))).all()]
    assert len({h.split("$")[1] for h in hashes}) == 5


async def test_a_forged_secret_naming_a_real_key_is_refused(store: KeyStore) -> None:
    key, secret = await store.create("team-a")
    forged = secret[:-43] + ("B" if secret[-1] != "B" else "C") * 43
    with pytest.raises(AuthenticationError, match="invalid API key") as exc_info:
        await store.authenticate(forged)
    assert forged not in str(exc_info.value.to_body())
    with pytest.raises(AuthenticationError, match="invalid API key"):
        await store.authenticate(forged)  # remembered as unknown: the same answer
    assert (await store.authenticate(secret)).id == key.id  # the real one still works


async def test_keys_made_before_salting_still_work(store: KeyStore, engine: Any) -> None:
    """A row from before salting holds the plain SHA-256 hex of an ``sk-ca-`` + 43 secret."""
    secret = "sk-ca-" + "L" * 43
    row = {
        "id": "key_0000000000000001",
        "name": "legacy",
        "prefix": secret[:12],
        "secret_hash": hashlib.sha256(secret.encode()).hexdigest(),
        "rpm": 5,
        "tpm": None,
        "budget_micro_usd": None,
        "budget_period": "month",
        "created_at": datetime.now(UTC),
        "revoked_at": None,
    }
    async with engine.begin() as conn:
        await conn.execute(keys_table.insert().values(**row))
    key = await store.authenticate(secret)
    assert (key.id, key.rpm) == ("key_0000000000000001", 5)
    await store.revoke(key.id)
    with pytest.raises(AuthenticationError, match="revoked"):
        await store.authenticate(secret)


async def test_revocation_reaches_other_replicas_within_the_cache_ttl(
    store: KeyStore, engine: Any
) -> None:
    other_clock = ManualClock()
    other = KeyStore(engine, cache_ttl_s=5.0, clock=other_clock)
    key, secret = await store.create("team-a")
    assert (await other.authenticate(secret)).id == key.id  # now cached by the other replica

    revoked = await store.revoke(key.id)
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError, match="revoked") as exc_info:
        await store.authenticate(secret)  # the revoking replica refuses at once
    assert exc_info.value.status == 401
    assert secret not in str(exc_info.value.to_body())

    other_clock.now += 4.9
    assert (await other.authenticate(secret)).id == key.id  # still cached: within the TTL
    other_clock.now += 0.2
    with pytest.raises(AuthenticationError, match="revoked"):
        await other.authenticate(secret)


async def test_bad_secrets_are_refused_without_echoing_them(store: KeyStore, engine: Any) -> None:
    await store.create("team-a")
    queries = count_queries(engine)
    for bad in (None, "", "sk-ant-something", "sk-ca-short", "sk-ca-" + "!" * 43):
        with pytest.raises(AuthenticationError) as exc_info:
            await store.authenticate(bad)
        assert exc_info.value.status == 401
        assert exc_info.value.to_body()["error"]["type"] == "authentication_error"
        if bad:
            assert bad not in str(exc_info.value)
            assert bad not in str(exc_info.value.to_body())
    assert queries == []  # malformed secrets never reach the database


async def test_unknown_keys_are_cached_negatively(
    store: KeyStore, engine: Any, clock: ManualClock
) -> None:
    queries = count_queries(engine)
    unknown = "sk-ca-" + "A" * 43
    for _ in range(20):
        with pytest.raises(AuthenticationError, match="invalid API key"):
            await store.authenticate(unknown)
    assert len(queries) == 1
    clock.now += 5.1
    with pytest.raises(AuthenticationError):
        await store.authenticate(unknown)
    assert len(queries) == 2


async def test_known_keys_are_served_from_memory(
    store: KeyStore, engine: Any, clock: ManualClock
) -> None:
    _, secret = await store.create("team-a")
    queries = count_queries(engine)
    for _ in range(20):
        await store.authenticate(secret)
    assert len(queries) == 1


async def test_concurrent_misses_for_one_key_make_one_query(
    store: KeyStore, engine: Any, clock: ManualClock
) -> None:
    _, secret = await store.create("busy")
    clock.now += 10  # the entry has expired: the next burst of requests all miss
    queries = count_queries(engine)
    keys = await asyncio.gather(*(store.authenticate(secret) for _ in range(32)))
    assert len({k.id for k in keys}) == 1
    assert len(queries) == 1


async def test_a_caller_that_gives_up_does_not_fail_the_others(
    store: KeyStore, clock: ManualClock
) -> None:
    _, secret = await store.create("busy")
    clock.now += 10
    first = asyncio.ensure_future(store.authenticate(secret))
    second = asyncio.ensure_future(store.authenticate(secret))
    await asyncio.sleep(0)  # both waiting on the one query
    first.cancel()
    assert (await second).name == "busy"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_list_hides_revoked_keys_and_never_shows_secrets(store: KeyStore) -> None:
    a, secret_a = await store.create("a")
    b, secret_b = await store.create("b", budget_usd=Decimal("1"), budget_period="day")
    await store.revoke(a.prefix)
    listed = await store.list()
    assert [k.id for k in listed] == [b.id]
    everything = await store.list(include_revoked=True)
    assert {k.id for k in everything} == {a.id, b.id}
    text = repr(everything)
    assert secret_a not in text
    assert secret_b not in text
    assert "hash" not in text


async def test_revoke_twice_keeps_the_first_time_and_unknown_is_404(store: KeyStore) -> None:
    key, _ = await store.create("a")
    first = await store.revoke(key.id)
    second = await store.revoke(key.id)
    assert second.revoked_at == first.revoked_at
    with pytest.raises(NotFoundError) as exc_info:
        await store.revoke("key_nope")
    assert exc_info.value.status == 404


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rpm": 0}, "rpm"),
        ({"tpm": -5}, "tpm"),
        ({"budget_usd": Decimal("-1")}, "budget_usd"),
        ({"budget_usd": "lots"}, "budget_usd"),
        ({"budget_period": "week"}, "budget_period"),
    ],
)
async def test_bad_limits_name_their_field(
    store: KeyStore, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as exc_info:
        await store.create("a", **kwargs)
    assert exc_info.value.field == field
    assert field in exc_info.value.message
    assert await store.list(include_revoked=True) == []


async def test_init_twice_and_ping(store: KeyStore) -> None:
    await store.init()
    await store.ping()


async def test_cache_is_bounded(
    store: KeyStore, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys_module, "CACHE_SIZE", 3)
    _, secret = await store.create("a")
    await store.authenticate(secret)
    for n in range(10):
        with pytest.raises(AuthenticationError):
            await store.authenticate("sk-ca-" + f"{n:043d}")
    queries = count_queries(engine)
    await store.authenticate(secret)  # bad keys filled their own cache, not this one
    assert queries == []
    assert len(store._unknown) == 3


def test_anonymous_key_has_no_limits() -> None:
    key = ApiKey.anonymous()
    assert (key.id, key.rpm, key.tpm, key.budget_usd, key.revoked_at) == (
        "anonymous",
        None,
        None,
        None,
        None,
    )


async def test_a_key_in_use_is_read_again_before_its_entry_expires(
    store: KeyStore, engine: Any, clock: ManualClock
) -> None:
    """In the last fifth of the TTL a request is answered from memory at once and the key is
    read again in the background: no request waits for that query, and the new row is used
    from then on (here: its rpm changed in the database meanwhile)."""
    key, secret = await store.create("busy", rpm=10)
    await store.authenticate(secret)  # cached now, for 5 s
    async with engine.begin() as conn:
        await conn.execute(keys_table.update().where(keys_table.c.id == key.id).values(rpm=99))
    queries = count_queries(engine)
    clock.now += 3.9  # not yet in the last fifth
    assert (await store.authenticate(secret)).rpm == 10
    assert queries == []
    clock.now += 0.2  # 4.1 s of 5: in it
    assert (await store.authenticate(secret)).rpm == 10  # answered before any query ran
    assert (await store.authenticate(secret)).rpm == 10  # one refresh at a time
    await asyncio.gather(*store._pending.values())
    assert len(queries) == 1
    clock.now += 4.0  # past the old entry's end, within the refreshed one's
    assert (await store.authenticate(secret)).rpm == 99
    assert len(queries) == 1


async def test_a_refresh_that_fails_leaves_the_entry_to_expire(
    store: KeyStore, engine: Any, clock: ManualClock
) -> None:
    _, secret = await store.create("busy")
    await store.authenticate(secret)
    clock.now += 4.5
    async with engine.begin() as conn:  # the table goes: the refresh's query fails
        await conn.run_sync(keys_table.drop)
    assert (await store.authenticate(secret)).name == "busy"  # still within its TTL
    await asyncio.gather(*store._pending.values(), return_exceptions=True)
    assert (await store.authenticate(secret)).name == "busy"
    clock.now += 1.0  # expired, and nothing to read it from
    with pytest.raises(Exception, match="service_keys"):
        await store.authenticate(secret)


async def test_a_key_revoked_while_a_refresh_reads_it_is_refused_at_once(
    store: KeyStore, engine: Any, clock: ManualClock
) -> None:
    """The revoking replica refuses the key at once even when the revocation lands while a
    background read of the key is under way: that read saw the key unrevoked, and must not
    be cached. The revocation is run from inside the read (an engine event, after the SELECT
    executed), so the two overlap on every backend."""
    key, secret = await store.create("team-a")
    await store.authenticate(secret)
    overlapped: list[ApiKey] = []

    def revoke_mid_read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # the key's read (by its id, from the secret's lookup part), not revoke's own SELECT
        reads_key = "service_keys.id =" in statement and " OR " not in statement
        if statement.lstrip().startswith("SELECT") and reads_key and not overlapped:
            overlapped.append(sqlalchemy_util.await_(store.revoke(key.id)))

    event.listen(engine.sync_engine, "after_cursor_execute", revoke_mid_read)
    clock.now += 4.5  # in the refresh window: a background read starts
    assert (await store.authenticate(secret)).revoked_at is None  # from memory
    (read,) = await asyncio.gather(*store._pending.values())
    assert overlapped  # the revocation did happen mid-read
    assert read is not None
    assert read.revoked_at is None  # what the read saw: stale
    with pytest.raises(AuthenticationError, match="revoked"):
        await store.authenticate(secret)
