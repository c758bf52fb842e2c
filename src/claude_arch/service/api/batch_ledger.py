"""The gateway's Message Batches: creation against the key's budget, and settlement once ended.

    ledger = ledger_of(gateway)                       # one per replica, made on first use
    batch = await ledger.create(key, checked, admission, extra_headers=None)
    ledger.observe(owned, batch)                      # ended and unsettled: settle it, once

**Creation.** The caller's key was admitted for one request and the batch's worst case at the
batch price (:meth:`~claude_arch.core.batches.AsyncBatches.check`), its budget hold given a TTL
that outlives any batch
(:data:`~claude_arch.service.tenancy.budgets.BATCH_HOLD_TTL_S`). The batch is
created upstream, then its ownership row is written with the hold; if the upstream refuses, the
hold is released; if the row cannot be written, the upstream batch is cancelled and the hold
released. The work runs to its end even if the caller hangs up meanwhile.

**Settlement.** The first request of any replica that sees the batch ``ended`` (a retrieve, a
list, a cancel, the results, a delete) starts it: this replica claims the row
(:meth:`~claude_arch.service.api.batch_store.BatchOwners.claim_settlement`), reads the results
itself
and prices each succeeded result's usage at the batch price (the core client's usage records,
which also reach the gateway's meters), marks the row settled with the total, and only then
releases the hold and charges the key. A delete waits for it; everything else answers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from claude_arch.constants import HEADER_BETA
from claude_arch.errors import ClaudeArchError, StoreUnavailableError
from claude_arch.service.api.batch_store import BatchOwners, OwnedBatch
from claude_arch.service.api.upstream import finish_anyway
from claude_arch.service.tenancy.quota import to_micro, usd

if TYPE_CHECKING:
    from claude_arch.core.batches import CheckedBatch
    from claude_arch.core.wire import MessageBatch
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.tenancy.keys import ApiKey
    from claude_arch.service.tenancy.quota import Admission

__all__ = ["EXTRA_NAME", "BatchLedger", "ledger_of", "store_call", "to_the_end"]

_log = logging.getLogger("claude_arch.service.batches")
T = TypeVar("T")
EXTRA_NAME = "batches"
"""The ledger's name in ``gateway.extras``."""
CLOSE_WAIT_S = 5.0
"""At shutdown, how long settlements under way get to finish (an unfinished one is claimed
again, once its lease lapses, by whichever replica next sees the batch)."""


def ledger_of(gateway: Gateway) -> BatchLedger:
    """The replica's ledger, made on first use (its table is created then)."""
    ledger = gateway.extras.get(EXTRA_NAME)
    if not isinstance(ledger, BatchLedger):
        ledger = BatchLedger(gateway, BatchOwners(gateway.engine))
        gateway.extras[EXTRA_NAME] = ledger
    return ledger


async def store_call(work: Coroutine[Any, Any, T]) -> T:
    """``work`` on the batch store; an unreachable database is a 502 whose message names no
    host (the cause goes to the log)."""
    try:
        return await work
    except (SQLAlchemyError, OSError) as exc:
        _log.warning("the batch store is unreachable: %s", exc)
        raise StoreUnavailableError("the batch store is unreachable; try again shortly") from exc


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """``work``'s result; ``work`` runs on to its end even if the caller is cancelled
    (:func:`~claude_arch.service.api.upstream.finish_anyway`)."""
    box: list[T] = []

    async def run() -> None:
        box.append(await work)

    await finish_anyway(run())
    return box[0]


class BatchLedger:
    """Creates batches for keys and settles them; ``owners`` is the ownership table."""

    def __init__(self, gateway: Gateway, owners: BatchOwners) -> None:
        self.gateway = gateway
        self.owners = owners
        self._settling: dict[str, asyncio.Task[None]] = {}

    async def create(
        self,
        key: ApiKey,
        checked: CheckedBatch,
        admission: Admission,
        *,
        extra_headers: Mapping[str, str] | None = None,
        beta: bool = False,
    ) -> MessageBatch:
        """Send the checked batch upstream (with ``extra_headers``; to the beta endpoint when
        ``beta``) and record it as ``key``'s, keeping the admission's budget hold on its row; on
        any failure nothing is left: no row, no hold, no batch."""
        gateway = self.gateway
        quotas = gateway.quotas
        try:
            async with gateway.gate.slot():
                batch = await gateway.client.batches.create(
                    requests=checked, extra_headers=extra_headers, beta=beta
                )
        except BaseException:
            await quotas.settle(admission, input_tokens=0, output_tokens=0, cost_usd=Decimal(0))
            raise
        hold = await quotas.keep_hold(admission)
        try:
            await self.owners.add(
                batch.id,
                key.id,
                requests=len(checked.requests),
                hold=hold,
                beta=beta,
                betas=(extra_headers or {}).get(HEADER_BETA),
            )
        except Exception as exc:
            _log.warning("recording batch %s failed (%s): cancelling it upstream", batch.id, exc)
            with contextlib.suppress(Exception):
                await gateway.client.batches.cancel(batch.id)
            await quotas.charge(hold, cost_usd=Decimal(0))
            raise StoreUnavailableError(
                "the batch store is unreachable: the batch was cancelled; try again shortly"
            ) from exc
        return batch

    def observe(self, owned: OwnedBatch, batch: MessageBatch | None = None) -> None:
        """A request saw ``owned``'s batch (as ``batch``; None: it has results, so it ended):
        an ended batch not settled yet is settled in the background."""
        if owned.settled or (batch is not None and not batch.ended):
            return
        self._start(owned)

    async def settle(self, owned: OwnedBatch) -> None:
        """Settle ``owned`` now (or wait for this replica's settlement under way)."""
        task = self._start(owned)
        await asyncio.shield(task)

    def _start(self, owned: OwnedBatch) -> asyncio.Task[None]:
        task = self._settling.get(owned.id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._settle(owned))
            self._settling[owned.id] = task
            task.add_done_callback(lambda _: self._settling.pop(owned.id, None))
        return task

    async def _settle(self, owned: OwnedBatch) -> None:
        try:
            await self._settle_once(owned)
        except Exception:
            _log.exception("settling batch %s failed", owned.id)

    async def _settle_once(self, owned: OwnedBatch) -> None:
        owners = self.owners
        client = self.gateway.client
        claim = secrets.token_hex(8)
        if not await owners.claim_settlement(owned.id, claim):
            return  # settled already, or another replica is at it
        options: dict[str, Any] = {
            "extra_headers": {HEADER_BETA: owned.betas} if owned.betas else None,
            "beta": owned.beta,
        }
        try:
            batch = await client.batches.retrieve(owned.id, **options)
            if not batch.ended:
                await owners.release_claim(owned.id, claim)
                return
            await owners.remember_ended(owned.id, batch.raw)
            cost = Decimal(0)
            succeeded = 0
            async for result in client.batches.results(owned.id, **options):
                record = result.message.record if result.message is not None else None
                if record is not None:
                    cost += record.cost_usd
                    succeeded += 1
        except (ClaudeArchError, SQLAlchemyError, OSError) as exc:
            _log.warning("settling batch %s: its results could not be read: %s", owned.id, exc)
            with contextlib.suppress(Exception):
                await owners.release_claim(owned.id, claim)
            return
        micro = to_micro(cost)
        if not await owners.finish_settlement(owned.id, claim, micro):
            return  # the claim lapsed and another replica took it over
        await self.gateway.quotas.charge(owned.hold, cost_usd=usd(micro))
        _log.info(
            "batch settled",
            extra={
                "key_id": owned.key_id,
                "batch_id": owned.id,
                "batch_requests": owned.request_count,
                "succeeded": succeeded,
                "cost_usd": str(usd(micro)),
                "held_usd": str(usd(owned.hold.amount)) if owned.hold is not None else None,
            },
        )

    async def aclose(self) -> None:
        """Give settlements under way :data:`CLOSE_WAIT_S` to finish, then stop them."""
        tasks = list(self._settling.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
