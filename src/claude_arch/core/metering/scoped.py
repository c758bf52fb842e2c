"""``ScopedMeter``: the records of the calls made inside one block of code (one task tree).

A service that settles a per-caller budget needs the cost of *this* request's calls, retries,
fallbacks and cancelled streams included, while one client serves every request at once:

    scoped = ScopedMeter()
    client = ClaudeClient(meters=[scoped, prometheus])
    with scoped.capture() as records:
        await client.create(...)
    spent = sum(r.cost_usd for r in records)

The capture list travels in a context variable, so tasks started inside the block (Starlette's
streaming task, ``asyncio.gather``) append to it as well; calls elsewhere are not seen. Where the
end of the work is in another task (a streamed response), :meth:`ScopedMeter.begin` starts a
capture that lasts as long as the current task's context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from claude_arch.core.types import UsageRecord

__all__ = ["ScopedMeter"]


class ScopedMeter:
    """A meter that hands each record to the innermost ``capture()`` around its call."""

    def __init__(self) -> None:
        self._sink: contextvars.ContextVar[list[UsageRecord] | None] = contextvars.ContextVar(
            "claude_arch_scoped_meter", default=None
        )

    def record(self, record: UsageRecord) -> None:
        sink = self._sink.get()
        if sink is not None:
            sink.append(record)

    def begin(self) -> list[UsageRecord]:
        """Capture from now on in this task's context (and tasks it starts) into a new list."""
        records: list[UsageRecord] = []
        self._sink.set(records)
        return records

    @contextmanager
    def capture(self) -> Iterator[list[UsageRecord]]:
        records: list[UsageRecord] = []
        token = self._sink.set(records)
        try:
            yield records
        finally:
            self._sink.reset(token)
