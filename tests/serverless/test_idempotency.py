"""The once-only contract on every store: one call per key, a second delivery waits its turn, a
killed invocation's claim lapses with its time, a failure lets the next delivery try again."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_fakes import client, moto_server
from lambda_env import drop_idempotency_table

from claude_arch.errors import ConfigError, OverloadedError
from claude_arch.serverless.idempotency import (
    InProgressError,
    KeyReusedError,
    OnceOnly,
    once_only_from_env,
    persistence_layer,
)


class Remaining:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(params=["redis", "dynamodb", "sqlite", "postgresql"])
def once(
    request: pytest.FixtureRequest, moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OnceOnly]:
    kind = request.param
    if kind == "redis":
        url = request.getfixturevalue("redis_url")
    elif kind == "dynamodb":
        table = f"idem-{uuid.uuid4().hex[:8]}"
        client("dynamodb", moto).create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for name, value in {
            "AWS_ENDPOINT_URL": moto,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        url = f"dynamodb:{table}"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'once.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    guard = OnceOnly(persistence_layer(url), ttl_s=60, namespace=f"t-{uuid.uuid4().hex[:8]}")
    yield guard
    guard.close()
    if kind == "postgresql":
        drop_idempotency_table(url)


def test_one_call_per_key(once: OnceOnly) -> None:
    calls: list[int] = []

    def work() -> dict[str, Any]:
        calls.append(1)
        return {"text": "hi", "n": len(calls)}

    first = once.run("m-1", work, body="b", context=Remaining(30_000))
    again = once.run("m-1", work, body="b", context=Remaining(30_000))
    other = once.run("m-2", work, body="b", context=Remaining(30_000))
    assert (first.replayed, again.replayed, other.replayed) == (False, True, False)
    assert again.answer == first.answer == {"text": "hi", "n": 1}
    assert len(calls) == 2


def test_a_delivery_while_the_first_runs_is_refused_then_replayed(once: OnceOnly) -> None:
    started, release = threading.Event(), threading.Event()
    results: list[Any] = []

    def slow() -> dict[str, Any]:
        started.set()
        release.wait(10)
        return {"text": "done"}

    first = threading.Thread(
        target=lambda: results.append(once.run("m", slow, body="b", context=Remaining(30_000)))
    )
    first.start()
    assert started.wait(10)
    with pytest.raises(InProgressError) as caught:
        once.run("m", slow, body="b", context=Remaining(30_000))
    assert caught.value.status == 409
    release.set()
    first.join(10)
    assert once.run("m", slow, body="b", context=Remaining(30_000)).answer == {"text": "done"}


def test_a_killed_invocations_claim_lapses_with_its_time(once: OnceOnly) -> None:
    """The first delivery's invocation had 1 s left and never finished (Lambda killed it)."""
    hold = threading.Event()

    def stuck() -> dict[str, Any]:
        hold.wait(10)
        return {"x": 1}

    t = threading.Thread(
        target=lambda: once.run("m", stuck, body="b", context=Remaining(1000)), daemon=True
    )
    t.start()
    time.sleep(0.3)
    with pytest.raises(InProgressError):
        once.run("m", lambda: {"x": 2}, body="b", context=Remaining(30_000))
    time.sleep(1.2)
    assert once.run("m", lambda: {"x": 2}, body="b", context=Remaining(30_000)).answer == {"x": 2}
    hold.set()
    t.join(10)


def test_a_failed_call_lets_the_next_delivery_try_again(once: OnceOnly) -> None:
    def overloaded() -> dict[str, Any]:
        raise OverloadedError("overloaded")

    with pytest.raises(OverloadedError):
        once.run("m", overloaded, body="b", context=Remaining(30_000))
    done = once.run("m", lambda: {"ok": True}, body="b", context=Remaining(30_000))
    assert (done.answer, done.replayed) == ({"ok": True}, False)


def test_a_key_reused_with_another_body_is_refused(once: OnceOnly) -> None:
    once.run("k", lambda: {"a": 1}, body='{"prompt": "one"}', context=Remaining(30_000))
    with pytest.raises(KeyReusedError) as caught:
        once.run("k", lambda: {"a": 2}, body='{"prompt": "two"}', context=Remaining(30_000))
    assert (caught.value.status, caught.value.field) == (422, "idempotency_key")


def test_configuration_errors_name_the_variable() -> None:
    assert once_only_from_env({}) is None
    with pytest.raises(ConfigError, match="CLAUDE_ARCH_FUNCTION_IDEMPOTENCY"):
        once_only_from_env({"CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": "memcached://x"})
    with pytest.raises(ConfigError, match="table"):
        once_only_from_env({"CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": "dynamodb:"})
    with pytest.raises(ConfigError, match="TTL_S"):
        once_only_from_env(
            {
                "CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": "redis://127.0.0.1:6379/15",
                "CLAUDE_ARCH_FUNCTION_IDEMPOTENCY_TTL_S": "soon",
            }
        )
