"""USD budgets per key and period: reserve the worst case before a call, settle the real cost after.

Amounts are integer micro-dollars (no float drift). Each (key, period) has a counter of ``spent``
micro-dollars and of ``held`` ones (reservations of calls in flight); a reservation is granted
only when ``spent + held + amount <= budget``, atomically, so concurrent calls (on any number of
replicas, with Redis) cannot together overspend.

    >>> import asyncio
    >>> budgets = LocalBudgets()
    >>> hold = asyncio.run(budgets.reserve("key_1:month:2026-11-01", 400, budget=1000))
    >>> asyncio.run(budgets.reserve("key_1:month:2026-11-01", 700, budget=1000))   # refused
    BudgetState(spent=0, held=400)
    >>> asyncio.run(budgets.settle(hold, charge=150))
    >>> asyncio.run(budgets.state("key_1:month:2026-11-01"))
    BudgetState(spent=150, held=0)
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from claude_arch.constants import REDIS_BUDGET_PREFIX

if TYPE_CHECKING:
    import redis.asyncio as redis_async

__all__ = [
    "BATCH_HOLD_TTL_S",
    "CHARGE_ONLY",
    "BudgetHold",
    "BudgetState",
    "LocalBudgets",
    "RedisBudgets",
    "budget_period_end",
    "budget_period_start",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOLD_TTL_S = 3600
"""A hold whose call never settles (its replica died) is released after this many seconds: an
hour outlasts the longest answer (128k output tokens streams for 20-40 minutes), so a live call's
hold never lapses and lets concurrent calls overspend the budget."""
BATCH_HOLD_TTL_S = 25 * 3600
"""The hold of a Message Batch: the API ends every batch within 24 hours of its creation (what
it has not processed by then expires), so 25 hours outlives any batch. A batch is settled when
the gateway first sees it ended; until then, for up to these 25 hours, its hold keeps its worst
case out of the budget."""
CHARGE_ONLY = ""
"""The id of a hold that holds nothing (an unbudgeted key's): settling it only charges."""
KEEP_AFTER_PERIOD = timedelta(days=7)
"""Redis keeps a finished period's counter this long after the period ends, then forgets it."""


def budget_period_start(period: str, now: datetime) -> datetime:
    """The UTC instant the budget period holding ``now`` began.

    >>> t = datetime(2026, 11, 17, 15, 4, tzinfo=UTC)
    >>> budget_period_start("day", t).isoformat(), budget_period_start("month", t).isoformat()
    ('2026-11-17T00:00:00+00:00', '2026-11-01T00:00:00+00:00')
    >>> budget_period_start("total", t).year
    1970
    """
    now = now.astimezone(UTC)
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "total":
        return _EPOCH
    raise ValueError(f"budget period must be day, month or total, not {period!r}")


def budget_period_end(period: str, start: datetime) -> datetime | None:
    """When the period that began at ``start`` ends (None: a total budget never resets).

    >>> budget_period_end("month", datetime(2026, 12, 1, tzinfo=UTC)).isoformat()
    '2027-01-01T00:00:00+00:00'
    """
    if period == "day":
        return start + timedelta(days=1)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return None


@dataclass(frozen=True, slots=True)
class BudgetState:
    spent: int
    held: int


@dataclass(frozen=True, slots=True)
class BudgetHold:
    """One granted reservation: settle it exactly once."""

    slot: str
    id: str
    amount: int
    state: BudgetState
    """The counter just after the reservation was granted."""
    expires_at: datetime | None = None
    """When the period's counter may be forgotten (None: never)."""


def _key_of(slot: str) -> str:
    return slot.split(":", 1)[0]


class LocalBudgets:
    """Counters in this process (they start from zero when the process restarts). Use it from
    one event loop: each method runs without awaiting, so it is atomic there."""

    def __init__(self) -> None:
        self._counters: dict[str, list[int]] = {}  # slot -> [spent, held]
        self._holds: dict[str, int] = {}
        self._current: dict[str, str] = {}  # key id -> its newest slot

    async def reserve(
        self,
        slot: str,
        amount: int,
        *,
        budget: int,
        expires_at: datetime | None = None,
        ttl_s: float | None = None,
    ) -> BudgetHold | BudgetState:
        """A hold of ``amount``, or the counter's state when the budget cannot cover it.

        ``ttl_s`` is for :class:`RedisBudgets`' interface: a hold in this process lasts until it
        is settled (a process that dies takes its counters with it)."""
        # no await inside: each call is atomic on the event loop, no lock needed
        self._forget_old(slot)
        counter = self._counters.setdefault(slot, [0, 0])
        if counter[0] + counter[1] + amount > budget:
            return BudgetState(*counter)
        counter[1] += amount
        hold = BudgetHold(slot, secrets.token_hex(8), amount, BudgetState(*counter), expires_at)
        self._holds[hold.id] = amount
        return hold

    async def settle(self, hold: BudgetHold, *, charge: int) -> None:
        """Release the hold and charge ``charge`` (the real cost; it may exceed the hold)."""
        held = self._holds.pop(hold.id, None)
        if held is None:
            # nothing here reserved it (an unbudgeted key's call, or a batch's hold from before
            # this process started): this may be the period's first charge
            current = self._current.get(_key_of(hold.slot))
            if current is None or current < hold.slot:  # slots of one key sort by date
                self._forget_old(hold.slot)
        counter = self._counters.setdefault(hold.slot, [0, 0])
        if held is not None:
            counter[1] -= hold.amount
        counter[0] += charge
        if counter[1] == 0 and self._current.get(_key_of(hold.slot)) != hold.slot:
            del self._counters[hold.slot]  # the last call of a past period

    async def state(self, slot: str) -> BudgetState:
        counter = self._counters.get(slot, [0, 0])
        return BudgetState(*counter)

    def _forget_old(self, slot: str) -> None:
        # a key's previous period is dropped once it has no call in flight
        key_id = _key_of(slot)
        previous = self._current.get(key_id)
        self._current[key_id] = slot
        if previous is not None and previous != slot:
            counter = self._counters.get(previous)
            if counter is not None and counter[1] == 0:
                del self._counters[previous]

    async def ping(self) -> None:
        """Nothing to reach in-process."""

    async def aclose(self) -> None:
        """Nothing to release in-process."""


# KEYS[1] hash {spent, held, h:<hold id> -> amount}; KEYS[2] zset of hold ids by expiry (ms).
# ARGV: op, hold id, amount (reserve) or charge (settle), budget, hold ttl ms, expire-at ms
# (0: never). Time is the server's, so replicas with skewed clocks agree on hold expiry.
# "0 - x", never "-x": Lua's -0 reaches Redis as "-0", which HINCRBY refuses (a hold of 0).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  local amount = tonumber(redis.call('HGET', KEYS[1], 'h:' .. old) or 0)
  redis.call('HINCRBY', KEYS[1], 'held', 0 - amount)
  redis.call('HDEL', KEYS[1], 'h:' .. old)
  redis.call('ZREM', KEYS[2], old)
end
local op = ARGV[1]
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or 0)
local held = tonumber(redis.call('HGET', KEYS[1], 'held') or 0)
if op == 'state' then
  return {1, spent, held}
end
local amount = tonumber(ARGV[3])
if op == 'reserve' then
  if spent + held + amount > tonumber(ARGV[4]) then
    return {0, spent, held}
  end
  held = redis.call('HINCRBY', KEYS[1], 'held', amount)
  redis.call('HSET', KEYS[1], 'h:' .. ARGV[2], amount)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[2])
elseif op == 'settle' then
  local mine = redis.call('HGET', KEYS[1], 'h:' .. ARGV[2])
  if mine then
    held = redis.call('HINCRBY', KEYS[1], 'held', 0 - tonumber(mine))
    redis.call('HDEL', KEYS[1], 'h:' .. ARGV[2])
    redis.call('ZREM', KEYS[2], ARGV[2])
  end
  spent = redis.call('HINCRBY', KEYS[1], 'spent', amount)
else
  return redis.error_reply('unknown op ' .. tostring(op))
end
if ARGV[6] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[6])
  redis.call('PEXPIREAT', KEYS[2], ARGV[6])
end
return {1, spent, held}
"""


class RedisBudgets:
    """Counters in Redis, shared by every replica: one Lua script per reserve or settle.

    A hold expires after ``hold_ttl_s`` (server time), so a replica that dies mid-call does not
    lock budget away for good. Counters expire ``KEEP_AFTER_PERIOD`` after their period ends.
    """

    def __init__(self, url: str, *, hold_ttl_s: float = HOLD_TTL_S, socket_timeout: float = 2.0):
        import redis.asyncio

        self.url = url
        self.hold_ttl_ms = int(hold_ttl_s * 1000)
        self._module = redis.asyncio
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        self._client: redis_async.Redis | None = None
        self._script: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def keys(self, slot: str) -> list[str]:
        """The hash and the hold index of ``slot`` (one hash tag: one Redis Cluster slot)."""
        base = f"{REDIS_BUDGET_PREFIX}{{{slot}}}"
        return [base, base + ":holds"]

    async def _call(self, slot: str, *args: Any) -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            # a redis.asyncio client belongs to the loop that made its connections
            self._client = self._module.Redis.from_url(self.url, **self._options)
            self._script = self._client.register_script(_SCRIPT)
            self._loop = loop
        reply = await self._script(keys=self.keys(slot), args=list(args))
        return int(reply[0]), int(reply[1]), int(reply[2])

    async def reserve(
        self,
        slot: str,
        amount: int,
        *,
        budget: int,
        expires_at: datetime | None = None,
        ttl_s: float | None = None,
    ) -> BudgetHold | BudgetState:
        """A hold of ``amount`` that lapses after ``ttl_s`` (default ``hold_ttl_s``), or the
        counter's state when the budget cannot cover it."""
        hold_id = secrets.token_hex(8)
        expire_ms = 0 if expires_at is None else int(expires_at.timestamp() * 1000)
        ttl_ms = self.hold_ttl_ms if ttl_s is None else int(ttl_s * 1000)
        ok, spent, held = await self._call(
            slot, "reserve", hold_id, amount, budget, ttl_ms, expire_ms
        )
        if not ok:
            return BudgetState(spent, held)
        return BudgetHold(slot, hold_id, amount, BudgetState(spent, held), expires_at)

    async def settle(self, hold: BudgetHold, *, charge: int) -> None:
        """Release the hold (unless it expired already) and charge ``charge``."""
        expire_ms = 0 if hold.expires_at is None else int(hold.expires_at.timestamp() * 1000)
        await self._call(hold.slot, "settle", hold.id, charge, 0, 0, expire_ms)

    async def state(self, slot: str) -> BudgetState:
        _, spent, held = await self._call(slot, "state", "", 0, 0, 0, 0)
        return BudgetState(spent, held)

    async def ping(self) -> None:
        """Raises when Redis cannot be reached (a read of an absent counter)."""
        await self.state("ping")

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()
        self._script = None
        self._loop = None
