"""Drive an official Anthropic Python SDK (0.x or 2.x line) through ``/v1/models``; print JSON.

Pages the whole list forwards with the SDK's auto-pager (``limit=5``), backwards from the last
model with ``before_id``, retrieves a model by alias, and reports the typed errors of bad paging
parameters. Imports only the SDK and the standard library, so any SDK line's interpreter runs it:

    python tests/sdk/models_paging_check.py '{"url": "http://127.0.0.1:4010", "key": "sk-…",
        "alias": "claude-haiku-4-5-20251001"}'

``run(spec)`` is the same report in-process.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable
from typing import Any

import anthropic

PAGE = 5
AT_MOST = 1000
"""Items or pages read from an auto-pager: one that never ends fails the check, not hangs it."""


def failure(call: Callable[[], Any]) -> dict[str, Any]:
    """The typed error a call raised: class, status, error type and message."""
    try:
        call()
    except anthropic.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error") or {}
        return {
            "class": type(exc).__name__,
            "status": exc.status_code,
            "type": error.get("type"),
            "message": error.get("message"),
        }
    return {"class": None}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=spec["url"], api_key=spec["key"], max_retries=0)
    forward = client.models.list(limit=PAGE).iter_pages()
    forward_pages = [[m.id for m in page.data] for page in itertools.islice(forward, AT_MOST)]
    # the auto-pager, item by item
    every = [m.id for m in itertools.islice(client.models.list(limit=PAGE), AT_MOST)]
    backward = client.models.list(limit=PAGE, before_id=every[-1]).iter_pages()
    backward_pages = [[m.id for m in page.data] for page in itertools.islice(backward, AT_MOST)]
    one = client.models.retrieve(spec["alias"])
    capabilities = one.capabilities
    return {
        "sdk_version": anthropic.__version__,
        "forward": every,
        "forward_pages": forward_pages,
        "backward_pages": backward_pages,
        "retrieved": {
            "id": one.id,
            "max_input_tokens": one.max_input_tokens,
            "max_tokens": one.max_tokens,
            "thinking": None if capabilities is None else capabilities.thinking.supported,
            "batch": None if capabilities is None else capabilities.batch.supported,
        },
        "errors": {
            "limit_0": failure(lambda: client.models.list(limit=0)),
            "limit_1001": failure(lambda: client.models.list(limit=1001)),
            "unknown_after_id": failure(lambda: client.models.list(after_id="claude-nope")),
            "unknown_before_id": failure(lambda: client.models.list(before_id="claude-nope")),
            "both_cursors": failure(
                lambda: client.models.list(after_id=every[0], before_id=every[-1])
            ),
            "unknown_model": failure(lambda: client.models.retrieve("claude-haiku-4-20250514")),
        },
    }


def backward_pages(ids: list[str]) -> list[list[str]]:
    """The pages an auto-pager started with ``before_id=ids[-1]`` should see, in order."""
    pages, end = [], len(ids) - 1
    while end > 0:
        start = max(0, end - PAGE)
        pages.append(ids[start:end])
        end = start
    return pages


def check(report: dict[str, Any], ids: list[str], alias_of: str) -> None:
    """``report`` shows every model of ``ids`` once, in order, both ways; ``alias_of`` is what
    the alias resolved to; each bad parameter is the typed error naming it."""
    assert report["forward"] == ids, report["forward"]
    assert report["forward_pages"] == [ids[i : i + PAGE] for i in range(0, len(ids), PAGE)]
    assert report["backward_pages"] == backward_pages(ids)
    assert report["retrieved"]["id"] == alias_of
    errors = report["errors"]
    for name, (cls, status, kind, field) in {
        "limit_0": ("BadRequestError", 400, "invalid_request_error", "limit"),
        "limit_1001": ("BadRequestError", 400, "invalid_request_error", "limit"),
        "unknown_after_id": ("NotFoundError", 404, "not_found_error", "after_id"),
        "unknown_before_id": ("NotFoundError", 404, "not_found_error", "before_id"),
        "both_cursors": ("BadRequestError", 400, "invalid_request_error", "before_id"),
        "unknown_model": ("NotFoundError", 404, "not_found_error", "model"),
    }.items():
        error = errors[name]
        assert (error["class"], error["status"], error["type"]) == (cls, status, kind), error
        assert error["message"].startswith(f"{field}: "), error


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
