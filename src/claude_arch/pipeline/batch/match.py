"""Finding the Message Batch a crashed dispatcher may have created: ``batches.list`` against a row.

A row is ``uncertain`` when a create call was sent and its answer (the batch's id) was never
recorded: the process died, or the connection broke, after the request left. The API echoes
back nothing of ours on a batch object, but every result line carries its ``custom_id``, and
batch mode's custom ids start with the row's token (:func:`~claude_arch.pipeline.batch.ledger.
custom_id`). So :func:`find_batch` pages through ``batches.list`` (newest first) back to a
little before the row was recorded and, among the batches no row claims whose request count is
the row's:

- an ended one whose first result line carries the row's token **is** the row's batch;
- one still in progress may be it: the answer is :attr:`Match.pending` (look again later; never
  create another meanwhile);
- when none is left, the create never landed: :attr:`Match.absent`, and creating the batch
  again is safe.

    match = await find_batch(client, row, claimed=await batches.known_api_ids(since))
    if match.api_id: ...          # adopt it
    elif match.pending: ...       # wait
    else: ...                     # create it

Batches of other users of the same workspace only widen the search: a token is 16 random hex
digits, so no other batch's results start with it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from claude_arch.core.wire import JSONLines
from claude_arch.pipeline.batch.rows import parse_custom_id

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.wire import MessageBatch
    from claude_arch.pipeline.batch.rows import BatchRow

__all__ = ["CLOCK_MARGIN_S", "Match", "find_batch", "first_custom_id"]

CLOCK_MARGIN_S = 600.0
"""How far before the row's recording a batch may claim to be created (clocks differ)."""
_PAGE = 100


@dataclass(frozen=True)
class Match:
    """The row's batch (``api_id``), or the candidates still in progress (``pending``), or
    neither: the batch was never created."""

    api_id: str | None = None
    pending: tuple[str, ...] = ()
    not_ours: frozenset[str] = field(default_factory=frozenset)
    """Ended candidates whose results belong to another batch (skip them next time)."""


def _created_at(batch: MessageBatch) -> float | None:
    value = batch.raw.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


async def first_custom_id(client: ClaudeClient, api_id: str) -> str | None:
    """The ``custom_id`` of the first line of an ended batch's results (only that much is read)."""
    lines = JSONLines()
    chunks = client.batches.raw_results(api_id)
    try:
        async for chunk in chunks:
            for data in lines.feed(chunk):
                return str(data.get("custom_id", "")) if isinstance(data, dict) else None
        for data in lines.flush():
            return str(data.get("custom_id", "")) if isinstance(data, dict) else None
    finally:
        await chunks.aclose()
    return None


async def find_batch(
    client: ClaudeClient,
    row: BatchRow,
    *,
    claimed: set[str],
    not_ours: frozenset[str] = frozenset(),
    margin_s: float = CLOCK_MARGIN_S,
) -> Match:
    """Look for ``row``'s batch among the workspace's batches (see the module's docstring);
    ``claimed`` are the API ids other rows hold, ``not_ours`` candidates already ruled out."""
    since = row.created_at - margin_s
    pending: list[str] = []
    ruled_out = set(not_ours)
    after: str | None = None
    while True:
        page = await client.batches.list(limit=_PAGE, after_id=after)
        for batch in page.data:
            created = _created_at(batch)
            if created is not None and created < since:
                return Match(None, tuple(pending), frozenset(ruled_out))
            if batch.id in claimed or batch.id in ruled_out:
                continue
            if sum(batch.request_counts.values()) != row.requests:
                continue
            if not batch.ended:
                pending.append(batch.id)
                continue
            first = await first_custom_id(client, batch.id)
            parsed = parse_custom_id(first) if first else None
            if parsed is not None and parsed[0] == row.token:
                return Match(batch.id, (), frozenset(ruled_out))
            ruled_out.add(batch.id)
        if not page.has_more or not page.data:
            return Match(None, tuple(pending), frozenset(ruled_out))
        after = page.last_id or page.data[-1].id
