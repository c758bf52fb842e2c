"""Message Batches: an in-memory store whose batches progress in the background.

    store = BatchStore(state)
    batch = store.create([{"custom_id": "a", "params": {...}}])   # in_progress
    ...                                                        # processed at the configured pace
    store.get(batch.id).processing_status                      # "ended"
    store.results_jsonl(batch.id)                              # one JSON line per request

Each request ends ``succeeded`` (usage with ``service_tier: "batch"``, billed at half price by the
catalog), ``errored`` (its params fail validation, an unknown top-level field among them unless
the emulator is ``lenient``, or a scripted error), ``canceled`` (the batch was
cancelled first) or ``expired`` (not processed before ``expires_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from claude_arch.constants import MAX_BATCH_REQUESTS
from claude_arch.core.batches import check_custom_id
from claude_arch.core.tokens import count_request
from claude_arch.core.validation.fields import refuse_inference_geo
from claude_arch.core.validation.schema import validate_create_params
from claude_arch.emulator.answers.replies import compose_reply, message_body, usage_body
from claude_arch.emulator.ids import new_id
from claude_arch.emulator.state import EmulatorState
from claude_arch.errors import ClaudeArchError, InvalidRequestError

__all__ = ["BatchRecord", "BatchStore", "parse_requests"]

log = logging.getLogger("claude_arch.emulator")

_KINDS = ("processing", "succeeded", "errored", "canceled", "expired")


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class BatchRecord:
    id: str
    requests: list[tuple[str, dict[str, Any]]]
    created_at: float
    expires_at: float
    key_id: str
    betas: tuple[str, ...] = ()
    """The ``anthropic-beta`` names the batch was created with (they apply to its requests)."""
    processing_status: str = "in_progress"
    ended_at: float | None = None
    cancel_initiated_at: float | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def to_api(self, base_url: str) -> dict[str, Any]:
        ended = self.processing_status == "ended"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.processing_status,
            "request_counts": dict(self.counts),
            "ended_at": _rfc3339(self.ended_at) if self.ended_at else None,
            "created_at": _rfc3339(self.created_at),
            "expires_at": _rfc3339(self.expires_at),
            "archived_at": None,
            "cancel_initiated_at": (
                _rfc3339(self.cancel_initiated_at) if self.cancel_initiated_at else None
            ),
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


def parse_requests(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """Check the batch's shape (each request's params are checked when it is processed)."""
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidRequestError("requests: expected a non-empty list", field="requests")
    if len(items) > MAX_BATCH_REQUESTS:
        raise InvalidRequestError(
            f"requests: at most {MAX_BATCH_REQUESTS} requests per batch", field="requests"
        )
    seen: set[str] = set()
    parsed = []
    for i, item in enumerate(items):
        custom_id = check_custom_id(
            i, item.get("custom_id") if isinstance(item, dict) else None, seen
        )
        params = item.get("params") if isinstance(item, dict) else None
        if not isinstance(params, dict):
            raise InvalidRequestError(
                f"requests.{i}.params: expected an object", field=f"requests.{i}.params"
            )
        parsed.append((custom_id, params))
    return parsed


class BatchStore:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._batches: dict[str, BatchRecord] = {}

    def create(
        self,
        requests: list[tuple[str, dict[str, Any]]],
        key_id: str,
        betas: tuple[str, ...] = (),
    ) -> BatchRecord:
        now = time.time()
        batch = BatchRecord(
            id=new_id("msgbatch"),
            requests=requests,
            created_at=now,
            expires_at=now + self._state.config.batch_expiry_s,
            key_id=key_id,
            betas=betas,
        )
        batch.counts["processing"] = len(requests)
        self._forget_oldest_ended(self._state.config.max_batches - 1)
        self._batches[batch.id] = batch
        batch.task = asyncio.get_running_loop().create_task(self._process(batch))
        return batch

    def get(self, batch_id: str) -> BatchRecord | None:
        return self._batches.get(batch_id)

    def newest_first(self) -> list[BatchRecord]:
        return list(reversed(self._batches.values()))

    def cancel(self, batch: BatchRecord) -> None:
        if batch.processing_status == "in_progress":
            batch.processing_status = "canceling"
            batch.cancel_initiated_at = time.time()
            batch.cancel.set()

    def _forget_oldest_ended(self, keep: int) -> None:
        excess = len(self._batches) - keep
        if excess <= 0:
            return
        ended = [k for k, b in self._batches.items() if b.processing_status == "ended"]
        for batch_id in ended[:excess]:
            del self._batches[batch_id]

    def delete(self, batch: BatchRecord) -> None:
        del self._batches[batch.id]

    async def close(self) -> None:
        tasks = [b.task for b in self._batches.values() if b.task and not b.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def results_jsonl(self, batch: BatchRecord) -> bytes:
        lines = (json.dumps(r, separators=(",", ":")) for r in batch.results.values())
        return ("\n".join(lines) + "\n").encode()

    def _finish(self, batch: BatchRecord, custom_id: str, result: dict[str, Any]) -> None:
        batch.results[custom_id] = {"custom_id": custom_id, "result": result}
        batch.counts["processing"] -= 1
        batch.counts[result["type"]] += 1

    def _answer(self, batch: BatchRecord, params: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        try:
            params = validate_create_params(
                params,
                catalog=state.catalog,
                refuse_unknown=not state.config.lenient,
                betas=batch.betas,
            )
        except ClaudeArchError as exc:
            return _errored(exc)
        info = state.catalog.resolve(params["model"])
        try:
            state.refuse_retired(info)
            refuse_inference_geo(params, info)
        except ClaudeArchError as exc:
            return _errored(exc)
        rule = state.rules.match_request(params)
        if rule is not None and rule.error is not None:
            error = {"type": rule.error.type, "message": rule.error.message}
            return {"type": "errored", "error": {"type": "error", "error": error}}
        total_input = count_request(params)
        try:  # the prompt cache serves batch requests too (the API's: on a best-effort basis)
            cache = state.cache.apply(params, scope=batch.key_id, total_tokens=total_input)
        except ClaudeArchError as exc:
            return _errored(exc)
        reply = compose_reply(params, info.family, state.config, rule=rule, salt=state.salt())
        input_tokens = total_input - cache.read - cache.created
        usage = usage_body(
            input_tokens, cache, reply.output_tokens, "batch", params.get("inference_geo")
        )
        state.stats.add(
            info.id,
            batch.key_id,
            batch_requests=1,
            input_tokens=input_tokens,
            output_tokens=reply.output_tokens,
            cache_read_input_tokens=cache.read,
            cache_creation_input_tokens=cache.created,
        )
        message = message_body(params["model"], reply, usage)
        return {"type": "succeeded", "message": message}

    async def _process(self, batch: BatchRecord) -> None:
        pace = self._state.config.batch_seconds_per_request
        for index, (custom_id, params) in enumerate(batch.requests):
            left = batch.expires_at - time.time()
            if batch.cancel.is_set() or left <= 0:
                break
            try:
                result = self._answer(batch, params)
            except Exception:  # one bad request must not leave the batch in_progress forever
                log.exception("emulator: batch %s request %s failed", batch.id, custom_id)
                error = {"type": "api_error", "message": "Internal server error"}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            self._finish(batch, custom_id, result)
            if pace > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(batch.cancel.wait(), timeout=min(pace, max(left, 0)))
            elif index % 64 == 63:
                await asyncio.sleep(0)  # let the server answer other requests meanwhile
        outcome = {"type": "canceled"} if batch.cancel.is_set() else {"type": "expired"}
        for custom_id, _ in batch.requests:
            if custom_id not in batch.results:
                self._finish(batch, custom_id, dict(outcome))
        batch.processing_status = "ended"
        batch.ended_at = time.time()


def _errored(exc: ClaudeArchError) -> dict[str, Any]:
    """A request's ``errored`` result: the error the API would have answered it with."""
    error = {"type": exc.error_type, "message": exc.message}
    return {"type": "errored", "error": {"type": "error", "error": error}}
