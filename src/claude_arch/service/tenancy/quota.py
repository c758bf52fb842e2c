"""Per-key limits and budgets, checked before the upstream call and settled after it.

    quotas = Quotas(redis_url=settings.redis_url)          # None: in this process only
    admission = await quotas.admit(key, input_tokens=1200, max_output_tokens=1024,
                                   max_cost_usd=Decimal("0.0165"))   # 429 raised here
    try:
        message = await client.create(...)
    finally:
        await quotas.settle(admission, input_tokens=1180, output_tokens=310,
                            cost_usd=Decimal("0.00273"))

A key's ``rpm`` and ``tpm`` are token buckets of the core rate limiter (family ``service-key``,
one scope per key id): ``tpm`` counts input plus output tokens in ONE bucket, so a call reserves
``input + max_tokens`` and gets the unused part back when it settles. A key's budget is a USD
counter per period (day, month, total) in :mod:`claude_arch.service.tenancy.budgets`. With
``redis_url`` both live in Redis and every replica enforces the same limit; without it, each
process has its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from claude_arch.constants import (
    HEADER_BUDGET_LIMIT,
    HEADER_BUDGET_REMAINING,
    HEADER_BUDGET_RESET,
    SERVICE_KEY_FAMILY,
)
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter, Reservation
from claude_arch.core.ratelimit.headers import kind_headers
from claude_arch.errors import (
    InvalidRequestError,
    RateLimitError,
    SpendLimitError,
    StoreUnavailableError,
)
from claude_arch.service.tenancy.budgets import (
    CHARGE_ONLY,
    HOLD_TTL_S,
    BudgetHold,
    BudgetState,
    LocalBudgets,
    RedisBudgets,
    budget_period_end,
    budget_period_start,
)

if TYPE_CHECKING:
    from claude_arch.core.ratelimit import RedisRateLimiter
    from claude_arch.service.tenancy.keys import ApiKey

__all__ = ["Admission", "Quotas", "budget_period_start"]

log = logging.getLogger(__name__)

UNLIMITED = 10**15
_SLOT_CACHE_SIZE = 10_000
"""Capacity standing in for "no limit" in a bucket that has a limited sibling."""
MICRO = Decimal("0.000001")


def to_micro(usd: Decimal, *, rounding: str = ROUND_HALF_EVEN) -> int:
    """USD as integer micro-dollars (reservations round up, so a charge never exceeds them)."""
    if usd < 0:
        raise InvalidRequestError(f"a cost cannot be negative, got {usd}")
    return int((usd / MICRO).to_integral_value(rounding=rounding))


def usd(micro: int) -> Decimal:
    return (Decimal(micro) * MICRO).quantize(MICRO)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Admission:
    """What :meth:`Quotas.admit` took, to hand back to :meth:`Quotas.settle` exactly once."""

    key: ApiKey
    reservation: Reservation | None
    """Taken from the key's buckets; None when the key has neither rpm nor tpm."""
    hold: BudgetHold | None
    """The cost reservation; None only when the budget store was down and ``fail_open``."""
    headers: dict[str, str]
    """``anthropic-ratelimit-{requests,tokens}-*`` of this key and the ``claude-arch-budget-*``
    headers (a budgeted key only)."""
    settled: bool = False


class Quotas:
    """Admission against a key's rpm, tpm and USD budget; settlement with what the call used.

    ``fail_open`` decides what happens while Redis is unreachable: False (the default) refuses
    calls with a 502, True admits them unlimited and unbudgeted (logged).
    """

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        fail_open: bool = False,
        hold_ttl_s: float = HOLD_TTL_S,
    ) -> None:
        self._now = now
        self.fail_open = fail_open
        self.shared = bool(redis_url)
        """True: the counts live in Redis (settling waits for it); False: in this process
        (settling never waits)."""
        self._limiter: LocalRateLimiter | RedisRateLimiter
        self._budgets: LocalBudgets | RedisBudgets
        if redis_url:
            from claude_arch.core.ratelimit.redis import RedisRateLimiter

            self._limiter = RedisRateLimiter(redis_url, fail_open=fail_open, clock=clock)
            self._budgets = RedisBudgets(redis_url, hold_ttl_s=hold_ttl_s)
            import redis.exceptions

            self._outages: tuple[type[BaseException], ...] = (
                redis.exceptions.ConnectionError,
                redis.exceptions.TimeoutError,
            )
        else:
            self._limiter = LocalRateLimiter(clock=clock)
            self._budgets = LocalBudgets()
            self._outages = ()
        # (key id, period) → (slot name, period end, period start)
        self._slots: dict[tuple[str, str], tuple[str, datetime | None, datetime]] = {}

    async def admit(
        self,
        key: ApiKey,
        *,
        input_tokens: int,
        max_output_tokens: int,
        max_cost_usd: Decimal,
        hold_ttl_s: float | None = None,
    ) -> Admission:
        """Take one request, ``input + max_output`` tokens and ``max_cost_usd`` from the key.

        ``RateLimitError`` (429, ``retry_after``) names the per-minute limit that refused;
        ``SpendLimitError`` (429, never to be retried) when the period's budget cannot cover
        ``max_cost_usd``; ``InvalidRequestError`` (400) when the request alone exceeds ``tpm``.
        ``hold_ttl_s``: how long the budget hold outlives a replica that never settles it
        (default :data:`~claude_arch.service.tenancy.budgets.HOLD_TTL_S`; a batch's is longer).
        """
        tokens = input_tokens + max_output_tokens
        if key.tpm is not None and tokens > key.tpm:
            raise InvalidRequestError(
                f"max_tokens: {input_tokens} input tokens + max_tokens {max_output_tokens} exceed "
                f"the {key.tpm} tokens per minute of this API key; this request can never be "
                "admitted (lower max_tokens or shorten the prompt)",
                field="max_tokens",
            )
        now = self._now()
        headers: dict[str, str] = {}
        hold = await self._reserve_budget(key, max_cost_usd, now, headers, hold_ttl_s)
        try:
            reservation = await self._take(key, tokens, now, headers)
        except BaseException:
            if hold is not None and hold.id != CHARGE_ONLY:
                await self._settle_budget(hold, 0)
            raise
        return Admission(key, reservation, hold, headers)

    async def settle(
        self, admission: Admission, *, input_tokens: int, output_tokens: int, cost_usd: Decimal
    ) -> None:
        """Return unused tokens and the unused cost reservation; charge ``cost_usd`` in full.

        Idempotent. Never raises for an unreachable store (the charge is logged as lost)."""
        if admission.settled:
            return
        admission.settled = True
        if admission.reservation is not None:
            try:
                await self._limiter.asettle(
                    admission.reservation,
                    input_tokens=input_tokens + output_tokens,
                    output_tokens=0,
                )
            except StoreUnavailableError as exc:
                log.warning("settling the limits of key %s failed: %s", admission.key.id, exc)
        hold = admission.hold
        if hold is not None and (cost_usd or hold.id != CHARGE_ONLY):  # nothing to settle
            await self._settle_budget(hold, to_micro(cost_usd))

    async def keep_hold(self, admission: Admission) -> BudgetHold | None:
        """Settle ``admission``'s rate limits now (its request is done; its tokens, if any, are
        given back) and hand its budget hold to the caller, who settles it later with
        :meth:`charge` (a Message Batch's, kept until its results are known). None: nothing
        is held (the budget store was down and ``fail_open``)."""
        hold, admission.hold = admission.hold, None
        await self.settle(admission, input_tokens=0, output_tokens=0, cost_usd=Decimal(0))
        return hold

    async def charge(self, hold: BudgetHold | None, *, cost_usd: Decimal) -> None:
        """Release ``hold`` (from :meth:`keep_hold`, possibly rebuilt from storage by another
        replica) and charge ``cost_usd`` in full; call it once per hold. A hold that lapsed
        already is not released twice. Never raises for an unreachable store (logged)."""
        if hold is not None and (cost_usd or hold.id != CHARGE_ONLY):
            await self._settle_budget(hold, to_micro(cost_usd))

    async def spent(self, key: ApiKey) -> Decimal:
        """USD charged to ``key`` in its current budget period (every key is counted);
        ``StoreUnavailableError`` when Redis cannot be reached."""
        slot, _ = self._slot(key, self._now())
        try:
            state = await self._budgets.state(slot)
        except self._outages as exc:
            log.warning("the limits store is unreachable: %s", exc)
            raise StoreUnavailableError("the limits store is unreachable") from exc
        return usd(state.spent)

    async def ping(self) -> None:
        """``StoreUnavailableError`` when the shared store (Redis) cannot be reached; a no-op
        in-process."""
        try:
            await self._budgets.ping()
        except self._outages as exc:
            log.warning("the limits store is unreachable: %s", exc)
            raise StoreUnavailableError("the limits store is unreachable") from exc

    async def aclose(self) -> None:
        await self._budgets.aclose()
        await self._limiter.aclose()

    # --- budget ---------------------------------------------------------------------------------
    def _slot(self, key: ApiKey, now: datetime) -> tuple[str, datetime | None]:
        # computed once per key and period: date arithmetic on every request showed in profiles
        cached = self._slots.get((key.id, key.budget_period))
        if cached is not None and (cached[1] is None or now < cached[1]) and now >= cached[2]:
            return cached[0], cached[1]
        start = budget_period_start(key.budget_period, now)
        end = budget_period_end(key.budget_period, start)
        slot = f"{key.id}:{key.budget_period}:{start:%Y-%m-%d}"
        if len(self._slots) >= _SLOT_CACHE_SIZE:
            self._slots.clear()
        self._slots[(key.id, key.budget_period)] = (slot, end, start)
        return slot, end

    async def _reserve_budget(
        self,
        key: ApiKey,
        max_cost_usd: Decimal,
        now: datetime,
        headers: dict[str, str],
        ttl_s: float | None = None,
    ) -> BudgetHold | None:
        # every key's spend is counted (for `keys list`); only a budgeted key can be refused
        slot, end = self._slot(key, now)
        keep_until = None if end is None else end + timedelta(days=7)
        if key.budget_usd is None:
            # nothing to refuse, so nothing to hold: settling charges the cost (one store
            # call per request instead of two, which with Redis is a round trip saved)
            return BudgetHold(slot, CHARGE_ONLY, 0, BudgetState(0, 0), keep_until)
        budget = to_micro(key.budget_usd)
        amount = to_micro(max_cost_usd, rounding=ROUND_CEILING)
        try:
            got = await self._budgets.reserve(
                slot, amount, budget=budget, expires_at=keep_until, ttl_s=ttl_s
            )
        except self._outages as exc:
            self._outage("budget", exc)
            return None
        state = got.state if isinstance(got, BudgetHold) else got
        if key.budget_usd is not None:
            headers[HEADER_BUDGET_LIMIT] = str(usd(budget))
            headers[HEADER_BUDGET_REMAINING] = str(usd(max(0, budget - state.spent - state.held)))
            if end is not None:
                headers[HEADER_BUDGET_RESET] = rfc3339(end)
        if isinstance(got, BudgetState):
            raise _spend_limit_error(key, got, max_cost_usd, end, headers)
        return got

    async def _settle_budget(self, hold: BudgetHold, charge: int) -> None:
        try:
            await self._budgets.settle(hold, charge=charge)
        except self._outages as exc:
            log.warning("charging %s USD to %s failed: %s", usd(charge), hold.slot, exc)

    def _outage(self, what: str, exc: BaseException) -> None:
        if not self.fail_open:
            # the detail (host names, ports) goes to the log, not to the caller
            log.warning("the %s store is unreachable: %s", what, exc)
            raise StoreUnavailableError(f"the {what} store is unreachable") from exc
        log.warning("the %s store is unreachable (%s): admitting without it", what, exc)

    # --- rate limits ----------------------------------------------------------------------------
    async def _take(
        self, key: ApiKey, tokens: int, now: datetime, headers: dict[str, str]
    ) -> Reservation | None:
        if key.rpm is None and key.tpm is None:
            return None
        limits = Limits(rpm=key.rpm or UNLIMITED, itpm=key.tpm or UNLIMITED, otpm=UNLIMITED)
        limiter = self._limiter
        if limiter.limits_for(SERVICE_KEY_FAMILY, scope=key.id) != limits:
            limiter.set_limits(SERVICE_KEY_FAMILY, limits, scope=key.id)
        try:
            got = await limiter.atry_acquire(
                SERVICE_KEY_FAMILY, input_tokens=tokens, output_tokens=0, scope=key.id
            )
            state = await limiter.asnapshot(SERVICE_KEY_FAMILY, scope=key.id)
        except StoreUnavailableError as exc:
            # the limiter's message names the Redis host: to the log, not to the caller
            log.warning("the limits store is unreachable: %s", exc)
            raise StoreUnavailableError("the limits store is unreachable") from exc
        if state is not None:
            at = now.timestamp()
            if key.rpm is not None:
                kind_headers(headers, "requests", state.requests, at)
            if key.tpm is not None:  # one bucket of input + output tokens binds all three kinds
                for kind in ("tokens", "input-tokens", "output-tokens"):
                    kind_headers(headers, kind, state.input_tokens, at)
        if isinstance(got, Reservation):
            return got
        short = []
        if key.rpm is not None and (state is None or state.requests.remaining < 1):
            short.append(f"{key.rpm} requests per minute")
        if key.tpm is not None and (state is None or state.input_tokens.remaining < tokens):
            short.append(f"{key.tpm} tokens per minute")
        raise RateLimitError(
            f"rate limit of this API key reached ({' and '.join(short)}); retry in {got:.1f} s",
            retry_after=got,
            headers=headers,
        )


def _spend_limit_error(
    key: ApiKey,
    state: BudgetState,
    max_cost_usd: Decimal,
    end: datetime | None,
    headers: dict[str, str],
) -> SpendLimitError:
    """The refusal of a spent budget: a 429 the official SDKs must not retry (``x-should-retry:
    false`` and ``enforced_spend_limit_reached`` are added by the service's error response)."""
    period = {"day": "today", "month": "this month"}.get(key.budget_period, "in total")
    in_flight = f" and {usd(state.held)} USD held by calls in flight" if state.held else ""
    resets = f"; it resets at {rfc3339(end)}" if end is not None else ""
    return SpendLimitError(
        f"the budget of this API key ({key.budget_usd} USD {period}) cannot cover this request: "
        f"{usd(state.spent)} USD spent{in_flight}, and this request may cost up to "
        f"{max_cost_usd.quantize(MICRO, rounding=ROUND_CEILING)} USD (a lower max_tokens "
        f"costs less){resets}",
        headers=headers,
        should_retry=False,
    )
