"""Reading an ended batch's results into the ledger, line by line.

    counts = await ingest(client, batches, row)

The results file is streamed (core's ``client.batches.results``: one parsed line at a time) and
written in chunks of :data:`CHUNK` results, each job through a conditional ``UPDATE`` on the
batch's hold (:meth:`~claude_arch.pipeline.batch.ledger.BatchLedger.settle`): reading the same
file again after a crash writes only what was not written, never a second result.

What each result does to its job:

- ``succeeded`` → ``succeeded``: text, response, usage, and the cost at the batch price (core's
  catalog prices the usage, whose ``service_tier`` is ``batch``);
- ``errored`` with a retryable error (``api_error``, ``overloaded_error``, ``rate_limit_error``,
  ``timeout_error``) → ``retrying``: into a new batch, or the sync path;
- ``errored`` otherwise (``invalid_request_error``, …) → ``dead``, with the error;
- ``expired`` (not processed within the batch's 24 h) or ``canceled`` → ``retrying`` (a job
  ``pipeline cancel`` cancelled is no longer held: its result is refused).

A ``retrying`` job out of attempts is ``dead`` instead. Jobs the file does not mention (it
should mention all) go back to the queue when the batch is closed
(:meth:`~claude_arch.pipeline.batch.ledger.BatchLedger.release`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from claude_arch.core.retry import RetryPolicy
from claude_arch.errors import error_for_status
from claude_arch.pipeline.batch.rows import Settle, parse_custom_id

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.wire import BatchResult
    from claude_arch.pipeline.batch.ledger import BatchLedger
    from claude_arch.pipeline.batch.rows import BatchRow

__all__ = ["CHUNK", "ingest", "settle_for"]

CHUNK = 100
"""Results written per transaction."""
_POLICY = RetryPolicy()


def settle_for(result: BatchResult, job_id: int) -> Settle:
    """What ``result`` does to job ``job_id`` (the table in the module's docstring)."""
    if result.type == "succeeded" and result.message is not None:
        message = result.message
        usage = message.usage.to_dict()
        record = message.record
        values = {
            "result": message.text,
            "response": message.to_dict(),
            "usage": usage,
            "cost_usd": float(record.cost_usd) if record is not None else 0.0,
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
        }
        return Settle(job_id, "done", values)
    if result.type == "errored":
        body = result.error if isinstance(result.error, dict) else {}
        exc = error_for_status(200, body)  # the error type decides, as for a stream's error
        error = json.dumps({"batch_result": "errored", "type": exc.error_type, "message": str(exc)})
        if _POLICY.is_retryable(exc):
            return Settle(job_id, "retry", {}, error=error)
        return Settle(job_id, "dead", {}, error=error)
    error = json.dumps({"batch_result": result.type or "unknown"})
    return Settle(job_id, "retry", {}, error=error)


async def ingest(
    client: ClaudeClient,
    batches: BatchLedger,
    row: BatchRow,
    *,
    on_chunk: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Write every result of ``row``'s ended batch to its job; return how many jobs became
    ``succeeded``, ``retrying`` and ``dead``, how many results were ``refused`` (written
    before), ``foreign`` lines (not of this batch: ignored), and the ``input_tokens``,
    ``output_tokens`` and ``cost_usd`` of the successes written. ``on_chunk`` gets the same
    counts of each chunk once it is written."""
    if row.api_id is None:
        raise ValueError(f"batch {row.id} has no API id yet")
    totals = _counts()
    chunk: list[Settle] = []

    async def flush() -> None:
        counts = _counts()
        for item, status in zip(chunk, await batches.settle(row, chunk), strict=True):
            counts[status or "refused"] += 1
            if status == "succeeded":
                counts["cost_usd"] += item.values["cost_usd"]
                counts["input_tokens"] += item.values["input_tokens"]
                counts["output_tokens"] += item.values["output_tokens"]
        for key, value in counts.items():
            totals[key] += value
        if on_chunk is not None and chunk:
            on_chunk(counts)
        chunk.clear()

    results = client.batches.results(row.api_id)
    try:
        async for result in results:
            parsed = parse_custom_id(result.custom_id)
            if parsed is None or parsed[0] != row.token:
                totals["foreign"] += 1
                continue
            chunk.append(settle_for(result, parsed[1]))
            if len(chunk) >= CHUNK:
                await flush()
        await flush()
    finally:
        await results.aclose()  # type: ignore[attr-defined]
    return totals


def _counts() -> dict[str, Any]:
    counts: dict[str, Any] = dict.fromkeys(("succeeded", "retrying", "dead", "refused"), 0)
    counts.update(foreign=0, input_tokens=0, output_tokens=0, cost_usd=0.0)
    return counts
