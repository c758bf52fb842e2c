"""Message Batches over real HTTP: lifecycle, results JSONL, cancel, expiry, paging, delete."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from api_shapes import assert_error_shape, body, headers

from claude_arch.testing import EmulatorServer

BATCHES = "/v1/messages/batches"


def requests(n: int) -> list[dict[str, Any]]:
    return [
        {"custom_id": f"req-{i}", "params": body(f"question {i}", max_tokens=50)} for i in range(n)
    ]


def wait_ended(http: httpx.Client, batch_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch: dict[str, Any] = http.get(f"{BATCHES}/{batch_id}").json()
        if batch["processing_status"] == "ended":
            return batch
        time.sleep(0.01)
    raise AssertionError(f"batch {batch_id} did not end within {timeout} s")


def test_lifecycle_results_and_discounted_tier(emu: EmulatorServer, client: httpx.Client) -> None:
    bad = {"custom_id": "bad", "params": {"model": "claude-haiku-4-5", "messages": []}}
    created = client.post(BATCHES, json={"requests": [*requests(3), bad]}).json()
    assert created["id"].startswith("msgbatch_01")
    assert created["type"] == "message_batch"
    assert created["results_url"] is None
    assert sum(created["request_counts"].values()) == 4
    ended = wait_ended(client, created["id"])
    assert ended["request_counts"] == {
        "processing": 0,
        "succeeded": 3,
        "errored": 1,
        "canceled": 0,
        "expired": 0,
    }
    assert ended["ended_at"] is not None
    assert ended["results_url"] == f"{emu.url}{BATCHES}/{created['id']}/results"
    lines = httpx.get(ended["results_url"], headers=headers()).text.splitlines()
    results = {r["custom_id"]: r["result"] for r in map(json.loads, lines)}
    assert results["bad"]["type"] == "errored"
    assert results["bad"]["error"]["error"]["type"] == "invalid_request_error"
    good = results["req-0"]
    assert good["type"] == "succeeded"
    assert good["message"]["usage"]["service_tier"] == "batch"
    assert emu.stats()["totals"]["batch_requests"] == 3


def test_cancel_then_delete() -> None:
    with (
        EmulatorServer(batch_seconds_per_request=30) as emu,
        httpx.Client(base_url=emu.url, headers=headers()) as http,
    ):
        created = http.post(BATCHES, json={"requests": requests(5)}).json()
        r = http.delete(f"{BATCHES}/{created['id']}")
        assert "cancel it first" in assert_error_shape(r, 400, "invalid_request_error")
        assert_error_shape(
            http.get(f"{BATCHES}/{created['id']}/results"), 400, "invalid_request_error"
        )
        canceling = http.post(f"{BATCHES}/{created['id']}/cancel").json()
        assert canceling["processing_status"] in ("canceling", "ended")
        assert canceling["cancel_initiated_at"] is not None
        ended = wait_ended(http, created["id"])
        counts = ended["request_counts"]
        assert counts["canceled"] == 4
        assert counts["succeeded"] == 1
        deleted = http.delete(f"{BATCHES}/{created['id']}").json()
        assert deleted == {"id": created["id"], "type": "message_batch_deleted"}
        assert_error_shape(http.get(f"{BATCHES}/{created['id']}"), 404, "not_found_error")


def test_unprocessed_requests_expire() -> None:
    with (
        EmulatorServer(batch_seconds_per_request=0.05, batch_expiry_s=0.12) as emu,
        httpx.Client(base_url=emu.url, headers=headers()) as http,
    ):
        created = http.post(BATCHES, json={"requests": requests(20)}).json()
        counts = wait_ended(http, created["id"])["request_counts"]
        assert counts["expired"] > 0
        assert counts["succeeded"] + counts["expired"] == 20


def test_list_is_newest_first_and_pages_both_ways(client: httpx.Client) -> None:
    ids = [client.post(BATCHES, json={"requests": requests(1)}).json()["id"] for _ in range(5)]
    newest_first = ids[::-1]
    page = client.get(BATCHES, params={"limit": 2}).json()
    assert [b["id"] for b in page["data"]] == newest_first[:2]
    assert page["has_more"] is True
    assert page["first_id"] == newest_first[0]
    page = client.get(BATCHES, params={"limit": 2, "after_id": page["last_id"]}).json()
    assert [b["id"] for b in page["data"]] == newest_first[2:4]
    page = client.get(BATCHES, params={"limit": 10, "after_id": page["last_id"]}).json()
    assert [b["id"] for b in page["data"]] == newest_first[4:]
    assert page["has_more"] is False
    back = client.get(BATCHES, params={"limit": 2, "before_id": newest_first[4]}).json()
    assert [b["id"] for b in back["data"]] == newest_first[2:4]
    assert back["has_more"] is True
    assert_error_shape(client.get(BATCHES, params={"limit": 0}), 400, "invalid_request_error")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"requests": []}, "requests"),
        ({"requests": [{"custom_id": "has space", "params": {}}]}, "requests.0.custom_id"),
        ({"requests": [*requests(1), *requests(1)]}, "requests.1.custom_id"),
        ({"requests": [{"custom_id": "a", "params": 3}]}, "requests.0.params"),
    ],
)
def test_malformed_batches_are_400(client: httpx.Client, payload: Any, field: str) -> None:
    r = client.post(BATCHES, json=payload)
    assert assert_error_shape(r, 400, "invalid_request_error").startswith(field)


def test_batch_requests_read_and_write_the_prompt_cache() -> None:
    """The API caches batch requests too (best-effort): a shared cached prefix is written by the
    first request that needs it and read by the rest, each billed at the batch price; a cache
    mark past the limit of four errors that request alone."""
    system = [
        {"type": "text", "text": "standing rules " * 400, "cache_control": {"type": "ephemeral"}}
    ]
    cached = [
        {
            "custom_id": f"c-{i}",
            "params": {**body(f"question {i}", max_tokens=20), "system": system},
        }
        for i in range(4)
    ]
    marks = [{"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}}
             for i in range(5)]  # fmt: skip
    too_many = {"custom_id": "marks", "params": {**body("q", max_tokens=20), "system": marks}}
    with (
        EmulatorServer(cache_min_tokens=100) as emu,
        httpx.Client(base_url=emu.url, headers=headers()) as http,
    ):
        created = http.post(BATCHES, json={"requests": [*cached, too_many]}).json()
        ended = wait_ended(http, created["id"])
        lines = http.get(ended["results_url"]).text.splitlines()
    results = {r["custom_id"]: r["result"] for r in map(json.loads, lines)}
    usages = [results[f"c-{i}"]["message"]["usage"] for i in range(4)]
    written = usages[0]["cache_creation_input_tokens"]
    assert written > 100
    assert usages[0]["cache_read_input_tokens"] == 0
    for usage in usages[1:]:
        assert usage["cache_read_input_tokens"] == written
        assert usage["cache_creation_input_tokens"] == 0
        assert usage["service_tier"] == "batch"
    assert results["marks"]["type"] == "errored"
    assert "cache_control" in results["marks"]["error"]["error"]["message"]
    assert emu.stats()["totals"]["cache_read_input_tokens"] == 3 * written
