"""The SQS handler under the real Lambda runtime client: partial batch failures."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lambda_env import CANARY_KEY, SQS_HANDLER, LambdaFunction, event

from claude_arch.testing import EmulatorServer

BATCH = event("sqs_batch")
IDS = [r["messageId"] for r in BATCH["Records"]]


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_keys=[CANARY_KEY]) as server:
        yield server


@pytest.fixture
def sqs_fn(emu: EmulatorServer, tmp_path: Path) -> Iterator[LambdaFunction]:
    with LambdaFunction(SQS_HANDLER, emu.url, tmp_path / "sqs.log") as fn:
        yield fn
        assert CANARY_KEY not in fn.log()


def answered(fn: LambdaFunction) -> list[str]:
    return [r["message_id"] for r in fn.log_records() if r.get("message") == "answered"]


def valid_batch() -> dict[str, Any]:
    batch = copy.deepcopy(BATCH)
    batch["Records"][1]["body"] = json.dumps({"prompt": "Summarise the second ticket"})
    return batch


def test_a_malformed_record_fails_alone(sqs_fn: LambdaFunction, emu: EmulatorServer) -> None:
    result = sqs_fn.invoke(BATCH)
    assert result.kind == "response"
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": IDS[1]}]}
    assert answered(sqs_fn) == [IDS[0], IDS[2]]
    refused = [r for r in sqs_fn.log_records() if r.get("message") == "record failed"]
    assert [(r["message_id"], r["field"]) for r in refused] == [(IDS[1], "body")]
    assert emu.stats()["totals"]["requests"] == 2


def test_throttled_records_go_back_to_the_queue_without_waiting(
    sqs_fn: LambdaFunction, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "529", "next_n": 1, "seconds": 30})
    result = sqs_fn.invoke(valid_batch())
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": i} for i in IDS]}
    # one call made: not retried inside the function, and the rest of the batch handed back
    totals = emu.stats()["totals"]
    assert (totals["fault_529"], totals.get("requests", 0)) == (1, 0)
    failed = [r for r in sqs_fn.log_records() if r.get("message") == "record failed"]
    assert [(r["message_id"], r["status"]) for r in failed] == [(IDS[0], 529)]
    # the next delivery of the same batch is answered in full
    assert sqs_fn.invoke(valid_batch()).payload == {"batchItemFailures": []}
    assert answered(sqs_fn) == IDS


def test_a_rate_limited_record_is_handed_back(sqs_fn: LambdaFunction, emu: EmulatorServer) -> None:
    batch = valid_batch()
    assert sqs_fn.invoke(batch).payload == {"batchItemFailures": []}
    emu.set_faults({"kind": "429", "next_n": 1, "seconds": 20})
    result = sqs_fn.invoke(batch)
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": i} for i in IDS]}
    totals = emu.stats()["totals"]
    assert (totals["fault_429"], totals["requests"]) == (1, 3)
    failed = [r for r in sqs_fn.log_records() if r.get("message") == "record failed"]
    assert [(r["message_id"], r["status"], r["retry_after"]) for r in failed] == [
        (IDS[0], 429, 20.0)
    ]


def test_an_event_that_is_not_sqs_fails_the_invocation(sqs_fn: LambdaFunction) -> None:
    result = sqs_fn.invoke({"detail-type": "Scheduled Event"})
    assert result.kind == "error"
    assert result.payload["errorType"] == "InvalidRequestError"
    assert result.payload["errorMessage"].startswith("event:")
    assert sqs_fn.invoke(BATCH).kind == "response"  # the environment lives on
