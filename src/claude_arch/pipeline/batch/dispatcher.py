"""Batch mode: the ledger's due jobs sent as Message Batches, at the batch price.

    ledger = await Ledger.open(settings.sqlalchemy_url)
    async with pipeline_client(settings) as client:
        stats = await BatchDispatcher(ledger, client, run="nightly").run()

One loop, in this order, until no job is left and no batch is open (or never, with ``follow``):

1. **Record, then create.** Due jobs are grouped into batches of at most ``max_requests``
   requests and ``max_bytes`` of body (the API's 100,000 and 256 MB by default:
   :data:`DEFAULT_MAX_BYTES`). Each batch's
   row is written, holding its jobs, before anything is sent
   (:meth:`~claude_arch.pipeline.batch.ledger.BatchLedger.record`); the row is marked
   ``uncertain`` right before each create call and cleared with the batch's id once the answer
   is recorded.
2. **Find what a crash left.** An ``uncertain`` row without an id (the create's answer was never
   recorded) is looked for in ``batches.list`` (:mod:`claude_arch.pipeline.batch.match`): it is
   adopted when found, waited for while a candidate is still in progress, and created again
   only when no batch can be it. So no batch is created twice, and none is forgotten: its row
   stays open until every result is in.
3. **Poll** each open batch with ``retrieve``, ``poll_s`` doubling to ``max_poll_s`` (±10%).
4. **Ingest** an ended batch's results, streamed, by ``custom_id``, each written once through
   the ledger's conditional update (:mod:`claude_arch.pipeline.batch.results`); expired and
   retryable errored requests become ``retrying``: into the next batch (``retry_via="batch"``)
   or through the sync path (``"sync"``: the local dispatcher runs them as plain calls).

Rows are owned through leases of ``lease_s`` (renewed every third of it), so several
dispatchers may share a ledger, and a killed one's batches are taken over once its leases run
out. ``max_cost_usd`` stops new batches once the run's recorded cost plus what the open batches
may cost at most (each request's worst case at the batch price) reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from claude_arch.constants import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS
from claude_arch.errors import APIStatusError, InvalidRequestError, NotFoundError
from claude_arch.pipeline.batch.ledger import BatchLedger
from claude_arch.pipeline.batch.match import find_batch
from claude_arch.pipeline.batch.results import ingest
from claude_arch.pipeline.batch.rows import BatchRow, BatchState, Settle, custom_id
from claude_arch.pipeline.batch.sync import SyncPath
from claude_arch.pipeline.dispatchers.local import RunStats
from claude_arch.pipeline.job import describe
from claude_arch.pipeline.jobs import WAITING, Job, JobStatus

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.pipeline.ledger import Ledger

__all__ = ["DEFAULT_MAX_BYTES", "BatchDispatcher", "BatchStats"]

logger = logging.getLogger("claude_arch.pipeline")

RetryVia = Literal["batch", "sync"]
DEFAULT_MAX_BYTES = 256_000_000
"""A batch's body by default: the smaller reading of the API's "256 MB" (256 × 10⁶ bytes, under
the 256 MiB the emulator and the gateway enforce), so a full batch is accepted either way."""
_REQUEST_INDEX = re.compile(r"^requests\.(\d+)")
# a create answered with one of these was refused whole: the batch does not exist
_NOT_CREATED = frozenset({429, 529})


@dataclass
class BatchStats(RunStats):
    """:class:`RunStats` of batch mode (``in_flight``: requests in open batches; the sync
    path's outcomes are counted in with the rest), plus the batches' own counts."""

    batches_created: int = 0
    batches_adopted: int = 0
    """Batches found by ``batches.list`` after their create's answer was lost."""
    batches_done: int = 0
    batches_open: int = 0
    sync_succeeded: int = 0


class BatchDispatcher:
    """Runs the ledger's due jobs (of ``run``, or all) as Message Batches."""

    def __init__(
        self,
        ledger: Ledger,
        client: ClaudeClient,
        *,
        run: str | None = None,
        lease_s: float = 60.0,
        poll_s: float = 30.0,
        max_poll_s: float = 600.0,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retry_via: RetryVia = "batch",
        concurrency: int = 64,
        follow: bool = False,
        max_cost_usd: float | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
    ) -> None:
        if lease_s <= 0 or poll_s <= 0 or max_poll_s < poll_s:
            raise ValueError("lease_s and poll_s must be positive, max_poll_s at least poll_s")
        if not 1 <= max_requests <= MAX_BATCH_REQUESTS or not 0 < max_bytes <= MAX_BATCH_BYTES:
            raise ValueError(
                f"a batch holds 1 to {MAX_BATCH_REQUESTS} requests and at most "
                f"{MAX_BATCH_BYTES} bytes"
            )
        self.ledger = ledger
        self.client = client
        self.run_name = run
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.retry_via = retry_via
        self.concurrency = concurrency
        self.follow = follow
        self.max_cost_usd = max_cost_usd
        self.on_progress = on_progress
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = BatchStats()
        self.batches = BatchLedger(ledger)
        # jobs a new batch takes: with the sync path, retried jobs are left to it
        self._statuses = WAITING if retry_via == "batch" else (JobStatus.queued,)
        self._not_ours: dict[int, frozenset[str]] = {}
        self._sync = (
            SyncPath(ledger, client, run=run, concurrency=concurrency, lease_s=lease_s)
            if retry_via == "sync"
            else None
        )
        self._idle_s = min(5.0, lease_s / 3)

    # --- the loop --------------------------------------------------------------------------------
    async def run(self) -> BatchStats:
        """Work until no job is left and no batch is open (or the cost cap stops new batches
        and the open ones are in); return what was done."""
        self.batches = await BatchLedger.open(self.ledger)
        renewer = asyncio.create_task(self._renew_forever())
        try:
            while True:
                await self._open_batches()
                rows = await self.batches.open_rows(self.run_name)
                for row in rows:
                    if row.next_check_at <= self.ledger.clock():
                        await self._attend(row)
                if self._sync is not None and self.stats.stopped is None:
                    await self._sync.poke()
                rows = await self.batches.open_rows(self.run_name)
                self.stats.batches_open = len(rows)
                self.stats.in_flight = sum(r.requests for r in rows)
                self._report()
                due = await self.ledger.next_due(self.run_name)
                syncing = self._sync is not None and self._sync.running
                idle = not rows and not syncing
                if idle and (self.stats.stopped or (due is None and not self.follow)):
                    break
                await self._sleep(rows, due)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if self._sync is not None:
                await self._sync.stop()
            self._report()
        return self._snapshot()

    async def _sleep(self, rows: list[BatchRow], due: float | None) -> None:
        now = self.ledger.clock()
        wake = now + self._idle_s
        for row in rows:
            mine = row.owner == self.owner
            at = row.next_check_at if mine else max(row.next_check_at, row.lease_expires or now)
            wake = min(wake, at)
        if due is not None and not self.stats.stopped:
            wake = min(wake, due)
        wait = min(max(wake - now, 0.005), self._idle_s)
        if self._sync is not None and self._sync.task is not None and self._sync.running:
            await asyncio.wait({self._sync.task}, timeout=wait)
        else:
            await asyncio.sleep(wait)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.batches.renew(self.owner, lease_s=self.lease_s)
            except Exception:
                logger.exception("could not renew the batches' leases")

    # --- 1. record, then create ------------------------------------------------------------------
    async def _open_batches(self) -> None:
        while not await self._capped():
            planned = await self.batches.record(
                self.owner,
                run=self.run_name,
                max_requests=self.max_requests,
                max_bytes=self.max_bytes,
                lease_s=self.lease_s,
                statuses=self._statuses,
            )
            if planned is None:
                return
            await self._create(planned.row, planned.jobs)

    async def _capped(self) -> bool:
        if self.stats.stopped is not None:
            return True
        if self.max_cost_usd is None:
            return False
        spent = (await self.ledger.counts(self.run_name))["cost_usd"]
        exposure = sum(
            r.worst_case_usd
            for r in await self.batches.open_rows(self.run_name)
            if r.state != BatchState.ended
        )
        if spent + exposure >= self.max_cost_usd:
            self.stats.stopped = "max_cost_usd"
            return True
        return False

    async def _create(self, row: BatchRow, jobs: list[Job] | None = None) -> None:
        """Check the row's requests, mark it uncertain, send the create, record its answer."""
        held = jobs if jobs is not None else await self.batches.held_jobs(row)
        checked, held = await self._check(row, held)
        if checked is None:
            await self._close(row, BatchState.done, "no job left to send")
            return
        marked = await self.batches.update(
            row,
            self.owner,
            uncertain=True,
            create_attempts=row.create_attempts + 1,
            job_ids=[j.id for j in held],
            requests=len(held),
            worst_case_usd=float(checked.worst_case_usd),
        )
        if marked is None:
            return  # another dispatcher owns it now
        try:
            batch = await self.client.batches.create(requests=checked)
        except APIStatusError as exc:
            if exc.status in _NOT_CREATED:
                await self._later(marked, uncertain=False, error=describe(exc), exc=exc)
            elif 400 <= exc.status < 500 and exc.status not in (408, 409):
                logger.warning("batch %s refused: %s", row.id, exc)
                await self.batches.release(marked, error=describe(exc))
                await self._close(marked, BatchState.failed, describe(exc))
            else:  # a 5xx may have created it: look for it first
                await self._later(marked, uncertain=True, error=describe(exc), exc=exc)
            return
        except Exception as exc:
            logger.warning("batch %s: no answer to its create (%s); will look for it", row.id, exc)
            await self._later(marked, uncertain=True, error=repr(exc), exc=exc)
            return
        self.stats.batches_created += 1
        await self.batches.update(
            marked,
            self.owner,
            api_id=batch.id,
            state=BatchState.created,
            uncertain=False,
            request_counts=batch.request_counts,
            checks=0,
            next_check_at=self.ledger.clock() + self.poll_s,
        )
        logger.info("batch %s created as %s (%d requests)", row.id, batch.id, len(held))

    async def _check(self, row: BatchRow, held: list[Job]) -> tuple[Any, list[Job]]:
        """The checked batch of ``held`` (core's ``batches.check``); a request that fails the
        check makes its job a dead letter and is left out. None when no job is left."""
        while held:
            requests = [
                {"custom_id": custom_id(row.token, j.id), "params": j.request} for j in held
            ]
            try:
                return self.client.batches.check(requests), held
            except InvalidRequestError as exc:
                found = _REQUEST_INDEX.match(exc.field or "")
                bad = held[int(found.group(1))] if found else None
                if bad is None:
                    raise
                logger.warning("job %s (%s) is dead: %s", bad.id, bad.source, exc)
                await self.batches.settle(row, [Settle(bad.id, "dead", {}, error=str(exc))])
                self.stats.dead += 1
                held = [j for j in held if j.id != bad.id]
        return None, held

    # --- 2-4. the open batches -------------------------------------------------------------------
    async def _attend(self, row: BatchRow) -> None:
        claimed = await self.batches.claim(row.id, self.owner, lease_s=self.lease_s)
        if claimed is None:
            return
        try:
            if claimed.state == BatchState.recorded:
                await self._recorded(claimed)
            elif claimed.state == BatchState.created:
                await self._poll(claimed)
            else:
                await self._ingest(claimed)
        except Exception as exc:
            logger.exception("batch %s (%s): %s", row.id, row.api_id, exc)
            await self._later(claimed, error=repr(exc), exc=exc)

    async def _recorded(self, row: BatchRow) -> None:
        if not row.uncertain:
            await self._create(row)
            return
        known = await self.batches.known_api_ids(row.created_at - 2 * 3600)
        match = await find_batch(
            self.client, row, claimed=known, not_ours=self._not_ours.get(row.id, frozenset())
        )
        self._not_ours[row.id] = match.not_ours
        if match.api_id is not None:
            logger.info("batch %s: found its batch %s by listing", row.id, match.api_id)
            self.stats.batches_adopted += 1
            adopted = await self.batches.update(
                row,
                self.owner,
                api_id=match.api_id,
                state=BatchState.created,
                uncertain=False,
                checks=0,
                next_check_at=self.ledger.clock(),
            )
            if adopted is not None:
                await self._poll(adopted)
        elif match.pending:
            logger.info("batch %s: waiting for %s to end to tell", row.id, ",".join(match.pending))
            await self._later(row, error=None)
        else:
            logger.info("batch %s: its create never landed; creating it", row.id)
            await self._create(row)

    async def _poll(self, row: BatchRow) -> None:
        if row.api_id is None:
            raise ValueError(f"batch {row.id} has no API id yet")
        try:
            batch = await self.client.batches.retrieve(row.api_id)
        except NotFoundError as exc:
            await self.batches.release(row, error=f"batch {row.api_id} is gone: {exc}")
            await self._close(row, BatchState.lost, describe(exc))
            return
        if not batch.ended:
            if batch.processing_status == "in_progress" and not await self.batches.held_count(row):
                await self.client.batches.cancel(row.api_id)  # every job was cancelled
            await self._later(row, error=None, request_counts=batch.request_counts)
            return
        ended = await self.batches.update(
            row,
            self.owner,
            state=BatchState.ended,
            request_counts=batch.request_counts,
            ended_at=self.ledger.clock(),
        )
        if ended is not None:
            await self._ingest(ended)

    async def _ingest(self, row: BatchRow) -> None:
        try:
            counts = await ingest(self.client, self.batches, row, on_chunk=self._count)
        except NotFoundError as exc:  # archived (29 days on) or deleted: the results are gone
            left = await self.batches.release(row, error=f"results of {row.api_id} gone: {exc}")
            self.stats.retried += left
            await self._close(row, BatchState.lost, describe(exc))
            return
        if counts["foreign"]:
            logger.warning("batch %s: %d results of other batches", row.id, counts["foreign"])
        left = await self.batches.release(row, error="missing from the batch's results")
        if left:
            logger.warning("batch %s: %d jobs had no result; queued again", row.id, left)
            self.stats.retried += left
        await self._close(row, BatchState.done, None)
        self.stats.batches_done += 1

    def _count(self, counts: dict[str, Any]) -> None:
        self.stats.succeeded += counts["succeeded"]
        self.stats.retried += counts["retrying"]
        self.stats.dead += counts["dead"]
        self.stats.refused += counts["refused"]
        self.stats.input_tokens += counts["input_tokens"]
        self.stats.output_tokens += counts["output_tokens"]
        self.stats.cost_usd += counts["cost_usd"]
        self._report()

    async def _close(self, row: BatchRow, state: BatchState, error: str | None) -> None:
        await self.batches.update(row, self.owner, state=state, uncertain=False, last_error=error)
        self._not_ours.pop(row.id, None)

    async def _later(
        self, row: BatchRow, *, error: str | None, exc: BaseException | None = None, **values: Any
    ) -> None:
        """Look at ``row`` again after its next backoff (the server's retry-after if longer)."""
        wait = min(self.max_poll_s, self.poll_s * 2.0 ** min(row.checks, 30))
        wait *= random.uniform(0.9, 1.1)
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, int | float) and hint > wait:
            wait = float(hint)
        if error is not None:
            values["last_error"] = error
        await self.batches.update(
            row,
            self.owner,
            checks=row.checks + 1,
            next_check_at=self.ledger.clock() + wait,
            **values,
        )

    def _snapshot(self) -> BatchStats:
        """The stats with the sync path's outcomes counted in."""
        snapshot = replace(self.stats)
        if self._sync is not None:
            self._sync.add_to(snapshot)
            snapshot.sync_succeeded = snapshot.succeeded - self.stats.succeeded
        return snapshot

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self._snapshot())
