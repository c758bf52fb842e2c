"""Drive an official Anthropic Python SDK's Message Batches against the *service*; print JSON.

Imports only the SDK and the standard library, so any SDK line's interpreter can run it (the 0.x
venv of ``tests/sdk/sdk_installs.py``):

    python tests/service/batch_sdk_check.py '{"url": "http://127.0.0.1:8080", "key": "sk-ca-…",
        "other_key": "sk-ca-…", "cancel_url": "http://127.0.0.1:8081", "cancel_key": "sk-ca-…",
        "model": "claude-haiku-4-5", "count": 20}'

The report: the lifecycle (create, poll, results, list, delete) on the plain and the beta paths,
what another key got for the same batch (the error class and status of each call), and a cancel
on ``cancel_url`` (a service whose upstream answers one request of a batch, then waits).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import anthropic

POLL_LIMIT_S = 60.0


def requests(spec: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    params = {
        "model": spec["model"],
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    return [{"custom_id": f"{prefix}{i}", "params": params} for i in range(spec["count"])]


def until_ended(retrieve: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + POLL_LIMIT_S
    batch = retrieve()
    while batch.processing_status != "ended":
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch.id} did not end within {POLL_LIMIT_S} s")
        time.sleep(0.02)
        batch = retrieve()
    return batch


def failure(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        call()
    except anthropic.APIStatusError as exc:
        return {"class": type(exc).__name__, "status": exc.status_code}
    return {"class": None, "status": None}


def lifecycle(client: Any, other: Any, spec: dict[str, Any], *, beta: bool) -> dict[str, Any]:
    """Create, poll, read, list and delete a batch; what ``other`` gets for it meanwhile."""
    batches = client.beta.messages.batches if beta else client.messages.batches
    others = other.beta.messages.batches if beta else other.messages.batches
    batch = batches.create(requests=requests(spec, "b" if beta else "p"))
    done = until_ended(lambda: batches.retrieve(batch.id))
    results = list(batches.results(batch.id))
    listed = [b.id for b in batches.list()]
    report = {
        "id": batch.id,
        "created_status": batch.processing_status,
        "succeeded": done.request_counts.succeeded,
        "results_url": done.results_url,
        "results": sorted(r.custom_id for r in results),
        "usages": [
            r.result.message.usage.model_dump() for r in results if r.result.type == "succeeded"
        ],
        "listed": listed,
        "other": {
            "retrieve": failure(lambda: others.retrieve(batch.id)),
            "results": failure(lambda: others.results(batch.id)),
            "cancel": failure(lambda: others.cancel(batch.id)),
            "delete": failure(lambda: others.delete(batch.id)),
            "listed": [b.id for b in others.list()],
        },
    }
    deleted = batches.delete(batch.id)
    report["deleted"] = {"id": deleted.id, "type": deleted.type}
    report["after_delete"] = failure(lambda: batches.retrieve(batch.id))
    return report


def cancel(spec: dict[str, Any]) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=spec["cancel_url"], api_key=spec["cancel_key"])
    batches = client.messages.batches
    batch = batches.create(requests=requests(spec, "c"))
    canceling = batches.cancel(batch.id)
    done = until_ended(lambda: batches.retrieve(batch.id))
    results = list(batches.results(batch.id))
    client.close()
    return {
        "id": batch.id,
        "canceling": canceling.processing_status,
        "counts": done.request_counts.model_dump(),
        "types": sorted(r.result.type for r in results),
        "usages": [
            r.result.message.usage.model_dump() for r in results if r.result.type == "succeeded"
        ],
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=spec["url"], api_key=spec["key"], max_retries=0)
    other = anthropic.Anthropic(base_url=spec["url"], api_key=spec["other_key"], max_retries=0)
    try:
        return {
            "sdk_version": anthropic.__version__,
            "plain": lifecycle(client, other, spec, beta=False),
            "beta": lifecycle(client, other, spec, beta=True),
            "cancel": cancel(spec),
        }
    finally:
        client.close()
        other.close()


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
