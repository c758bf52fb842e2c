"""The SQS handler against a real SQS API (moto's server): throttled records come back after the
API's retry-after, not after the queue's visibility timeout; a redelivered record is answered
once (idempotency on Redis, DynamoDB, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_fakes import aws_env, client, moto_server, sqs_event
from lambda_env import CANARY_KEY, SQS_HANDLER, LambdaFunction, drop_idempotency_table

from claude_arch.testing import EmulatorServer

PROMPTS = ["Summarise the first ticket", "Summarise the second ticket", "Summarise the third"]


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_keys=[CANARY_KEY]) as server:
        yield server


@pytest.fixture
def queue(moto: str) -> tuple[Any, str, str]:
    """A fresh queue with a 5-minute visibility timeout, holding three jobs."""
    sqs = client("sqs", moto)
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    for prompt in PROMPTS:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"prompt": prompt, "max_tokens": 32}))
    return sqs, url, name


def answered(fn: LambdaFunction) -> list[str]:
    return [r["message_id"] for r in fn.log_records() if r.get("message") == "answered"]


def test_throttled_records_come_back_after_retry_after_not_the_queue_timeout(
    emu: EmulatorServer, moto: str, queue: tuple[Any, str, str], tmp_path: Path
) -> None:
    sqs, url, name = queue
    event = sqs_event(sqs, url, name)
    ids = [r["messageId"] for r in event["Records"]]
    assert len(ids) == 3
    emu.set_faults({"kind": "429", "next_n": 1, "seconds": 5})
    with LambdaFunction(SQS_HANDLER, emu.url, tmp_path / "sqs.log", **aws_env(moto)) as fn:
        started = time.monotonic()
        result = fn.invoke(event)
        answered_after = time.monotonic() - started
        assert result.payload == {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        handed = next(r for r in fn.log_records() if r.get("message") == "handed back")
        # retry-after 5 s plus at most 20 % jitter, rounded up: 6 s at most; all three changed
        assert set(handed["delays_s"]) == set(ids)
        assert all(5 <= s <= 6 for s in handed["delays_s"].values())
        assert handed["visibility_changed"] == 3
        # the function did not sleep the retry-after out ...
        assert answered_after < 5
        # ... the records are not visible at once ...
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
        # ... and come back after about 5 s, not the queue's 300 s
        back: list[dict[str, Any]] = []
        while len(back) < 3 and time.monotonic() - started < 20:
            back += sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
        assert sorted(m["MessageId"] for m in back) == sorted(ids)
        assert time.monotonic() - started >= 5
    assert emu.stats()["totals"]["fault_429"] == 1


def test_a_visibility_change_that_fails_still_reports_the_records(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """No SQS reachable (nothing listens on the endpoint): logged, the batch answer unchanged."""
    event = json.loads((Path(__file__).parent / "events" / "sqs_batch.json").read_text())
    event["Records"][1]["body"] = json.dumps({"prompt": "second"})
    ids = [r["messageId"] for r in event["Records"]]
    emu.set_faults({"kind": "529", "next_n": 1, "seconds": 1})
    env = aws_env("http://127.0.0.1:9")
    with LambdaFunction(SQS_HANDLER, emu.url, tmp_path / "sqs.log", **env) as fn:
        result = fn.invoke(event)
        assert result.payload == {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        records = fn.log_records()
        assert any(r.get("message", "").startswith("visibility not changed") for r in records)
        assert (
            next(r for r in records if r.get("message") == "handed back")["visibility_changed"] == 0
        )


# --- idempotency: a redelivered record makes no second call and no second answer --------------


def _dynamodb_store(moto: str) -> str:
    table = f"idem-{uuid.uuid4().hex[:8]}"
    client("dynamodb", moto).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return f"dynamodb:{table}"


@pytest.fixture(params=["redis", "dynamodb", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, moto: str, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "redis":
        yield request.getfixturevalue("redis_url")
    elif kind == "dynamodb":
        yield _dynamodb_store(moto)
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'once.db'}"
    else:
        pg: str = request.getfixturevalue("postgres_url")
        yield pg
        drop_idempotency_table(pg)


def test_a_redelivered_batch_is_answered_once(
    emu: EmulatorServer, moto: str, queue: tuple[Any, str, str], store: str, tmp_path: Path
) -> None:
    sqs, url, name = queue
    event = sqs_event(sqs, url, name)
    ids = [r["messageId"] for r in event["Records"]]
    env = {**aws_env(moto), "CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": store}
    env["AWS_LAMBDA_FUNCTION_NAME"] = f"jobs-{uuid.uuid4().hex[:8]}"  # a namespace per test
    with LambdaFunction(SQS_HANDLER, emu.url, tmp_path / "sqs.log", **env) as fn:
        assert fn.invoke(event).payload == {"batchItemFailures": []}
        assert emu.stats()["totals"]["requests"] == 3
        # the same records delivered again (a visibility ran out, the batch was retried)
        assert fn.invoke(event).payload == {"batchItemFailures": []}
        assert emu.stats()["totals"]["requests"] == 3  # no second call
        assert sorted(answered(fn)) == sorted(ids)  # no second answer
        again = [r["message_id"] for r in fn.log_records() if r.get("message") == "answered before"]
        assert sorted(again) == sorted(ids)
    with LambdaFunction(SQS_HANDLER, emu.url, tmp_path / "sqs2.log", **env) as other:
        # another execution environment (a cold start elsewhere) sees the same records
        assert other.invoke(event).payload == {"batchItemFailures": []}
        assert emu.stats()["totals"]["requests"] == 3
        assert answered(other) == []


def test_a_record_that_failed_is_tried_again_under_idempotency(
    emu: EmulatorServer, moto: str, queue: tuple[Any, str, str], tmp_path: Path
) -> None:
    sqs, url, name = queue
    event = sqs_event(sqs, url, name)
    ids = [r["messageId"] for r in event["Records"]]
    env = {**aws_env(moto), "CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": f"sqlite:///{tmp_path / 'o.db'}"}
    emu.set_faults({"kind": "529", "next_n": 1, "seconds": 1})
    with LambdaFunction(SQS_HANDLER, emu.url, tmp_path / "sqs.log", **env) as fn:
        first = fn.invoke(event).payload
        assert first == {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        assert fn.invoke(event).payload == {"batchItemFailures": []}
        assert sorted(answered(fn)) == sorted(ids)
        assert emu.stats()["totals"]["requests"] == 3
