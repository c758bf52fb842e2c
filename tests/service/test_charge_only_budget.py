"""A key without a budget is never refused for cost, so it reserves nothing: its admission carries
a hold with the id :data:`~claude_arch.service.tenancy.budgets.CHARGE_ONLY` and settling it charges
the call's cost (one store call per request; with Redis, one round trip saved). Its spend must still
be counted exactly, on either store, next to budgeted keys' holds, across budget periods.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_quota import T0, admit, make_key

from claude_arch.constants import HEADER_BUDGET_REMAINING
from claude_arch.errors import StoreUnavailableError
from claude_arch.service.tenancy.budgets import (
    CHARGE_ONLY,
    BudgetHold,
    BudgetState,
    LocalBudgets,
    RedisBudgets,
    budget_period_end,
    budget_period_start,
)
from claude_arch.service.tenancy.keys import ApiKey
from claude_arch.service.tenancy.quota import Admission, Quotas, usd

MICRO = Decimal("0.000001")
COST = Decimal("0.000123")


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> str | None:
    """The budget store: this process, or Redis (fails under CI=true without it)."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url
    return None


async def settle(quotas: Quotas, admission: Admission, cost: Decimal) -> None:
    await quotas.settle(admission, input_tokens=1, output_tokens=1, cost_usd=cost)


async def test_an_unbudgeted_key_is_admitted_with_a_charge_only_hold(store: str | None) -> None:
    quotas = Quotas(redis_url=store)
    key = make_key(rpm=1000)  # limited in rate, not in cost
    try:
        admission = await admit(quotas, key, max_cost_usd=Decimal(5))
        hold = admission.hold
        assert hold is not None
        assert hold.id == CHARGE_ONLY
        assert hold.amount == 0
        start = budget_period_start("month", datetime.now(UTC))
        assert hold.slot == f"{key.id}:month:{start:%Y-%m-%d}"
        end = budget_period_end("month", start)
        assert end is not None
        assert hold.expires_at == end + timedelta(days=7)
        assert admission.headers.keys() == {
            f"anthropic-ratelimit-requests-{part}" for part in ("limit", "remaining", "reset")
        }  # rate headers; no budget headers without a budget
        await settle(quotas, admission, COST)
        assert await quotas.spent(key) == COST
    finally:
        await quotas.aclose()


@pytest.mark.parametrize("concurrent", [False, True])
async def test_an_unbudgeted_keys_spend_is_n_calls_times_their_cost(
    store: str | None, concurrent: bool
) -> None:
    quotas = Quotas(redis_url=store)
    unbudgeted, budgeted = make_key(), make_key(budget="1")
    calls = 40

    async def call(key: ApiKey) -> None:
        admission = await admit(quotas, key, max_cost_usd=Decimal("0.01"))
        await settle(quotas, admission, COST)

    try:
        work = [call(key) for _ in range(calls) for key in (unbudgeted, budgeted)]
        if concurrent:
            await asyncio.gather(*work)
        else:
            for one in work:
                await one
        assert await quotas.spent(unbudgeted) == calls * COST
        assert await quotas.spent(budgeted) == calls * COST
    finally:
        await quotas.aclose()


@pytest.mark.redis
async def test_redis_keeps_no_hold_for_an_unbudgeted_key(redis_url: str) -> None:
    quotas = Quotas(redis_url=redis_url)
    budgets = RedisBudgets(redis_url)
    inspect = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    unbudgeted, budgeted = make_key(), make_key(budget="1")
    try:
        opened = [await admit(quotas, unbudgeted) for _ in range(5)]
        holding = await admit(quotas, budgeted, max_cost_usd=Decimal("0.5"))
        assert holding.hold is not None
        assert opened[0].hold is not None
        counter, holds = budgets.keys(opened[0].hold.slot)
        # admitting an unbudgeted key wrote nothing...
        assert await inspect.exists(counter, holds) == 0
        # ...where a budgeted one's hold is there to see
        budgeted_counter, budgeted_holds = budgets.keys(holding.hold.slot)
        assert await inspect.hgetall(budgeted_counter) == {
            "held": "500000",
            f"h:{holding.hold.id}": "500000",
        }
        assert await inspect.zcard(budgeted_holds) == 1
        for admission in opened:
            await settle(quotas, admission, COST)
        # settled: the spend alone, no hold field, no hold index
        assert await inspect.hgetall(counter) == {"spent": str(5 * 123)}
        assert await inspect.exists(holds) == 0
        assert await quotas.spent(unbudgeted) == 5 * COST
        # kept until a week after the period ends, like a budgeted key's counter
        end = opened[0].hold.expires_at
        assert end is not None
        expires_ms = await inspect.pexpiretime(counter)
        assert expires_ms == int(end.timestamp() * 1000)
        await settle(quotas, holding, Decimal("0.2"))
        assert await inspect.hgetall(budgeted_counter) == {"held": "0", "spent": "200000"}
    finally:
        await inspect.aclose()
        await budgets.aclose()
        await quotas.aclose()


async def test_a_key_without_limits_or_budget_is_served_while_redis_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``fail_open=False`` refuses calls that Redis would limit while it is unreachable; a key
    with no rpm, tpm or budget has nothing there to be refused by, so it keeps being served and
    the spend Redis could not count is logged (docs/service-keys.md, "Redis down")."""
    quotas = Quotas(redis_url="redis://127.0.0.1:1/0")
    try:
        got = await admit(quotas, make_key())
        assert got.hold is not None
        assert got.hold.id == CHARGE_ONLY
        with caplog.at_level("WARNING", logger="claude_arch.service"):
            await quotas.settle(got, input_tokens=1, output_tokens=1, cost_usd=COST)
        assert any(
            "charging 0.000123 USD" in r.getMessage() and "failed" in r.getMessage()
            for r in caplog.records
        ), [r.getMessage() for r in caplog.records]
        with pytest.raises(StoreUnavailableError, match="unreachable"):
            await admit(quotas, make_key(rpm=5))  # a key with a limit is refused
        with pytest.raises(StoreUnavailableError, match="unreachable"):
            await admit(quotas, make_key(budget="1"))  # and one with a budget
    finally:
        await quotas.aclose()


# --- periods, in this process --------------------------------------------------------------------

NOV = "key_a:month:2026-11-01"
DEC = "key_a:month:2026-12-01"


def charge_only(slot: str) -> BudgetHold:
    return BudgetHold(slot, CHARGE_ONLY, 0, BudgetState(0, 0))


async def test_a_charge_only_settle_for_a_past_period_leaves_the_current_one() -> None:
    budgets = LocalBudgets()
    await budgets.settle(charge_only(DEC), charge=300)
    await budgets.settle(charge_only(NOV), charge=50)  # a call of November, ending in December
    assert await budgets.state(DEC) == BudgetState(300, 0)
    await budgets.settle(charge_only(DEC), charge=200)
    assert await budgets.state(DEC) == BudgetState(500, 0)
    assert await budgets.state(NOV) == BudgetState(0, 0)  # not kept: nothing in flight there


async def test_a_charge_only_settle_opening_a_period_makes_it_current() -> None:
    budgets = LocalBudgets()
    await budgets.settle(charge_only(NOV), charge=300)  # a key's very first call
    assert await budgets.state(NOV) == BudgetState(300, 0)
    await budgets.settle(charge_only(DEC), charge=40)  # the first call of December
    assert await budgets.state(DEC) == BudgetState(40, 0)
    await budgets.settle(charge_only(DEC), charge=2)
    assert await budgets.state(DEC) == BudgetState(42, 0)
    assert await budgets.state(NOV) == BudgetState(0, 0)  # November is forgotten


async def test_an_unbudgeted_call_crossing_into_a_new_month_is_charged_to_its_own() -> None:
    """Through :class:`Quotas` with a clock: a November call that ends in December does not
    touch December's spend; December's first call opens December."""
    now = [T0]
    quotas = Quotas(now=lambda: now[0])
    key = make_key()
    november = await admit(quotas, key)
    await settle(quotas, await admit(quotas, key), Decimal("0.5"))
    assert await quotas.spent(key) == Decimal("0.5")
    now[0] = datetime(2026, 12, 2, tzinfo=UTC)
    assert await quotas.spent(key) == 0
    late = await admit(quotas, key)
    await settle(quotas, await admit(quotas, key), Decimal("0.25"))  # December's first settle
    assert await quotas.spent(key) == Decimal("0.25")
    await settle(quotas, november, Decimal("1"))  # the November call ends
    assert await quotas.spent(key) == Decimal("0.25")
    await settle(quotas, late, Decimal("0.125"))
    assert await quotas.spent(key) == Decimal("0.375")


# --- any interleaving ----------------------------------------------------------------------------


@dataclass
class Model:
    """What the spend of each key must be: the charges of its calls admitted in the current
    period (a call admitted in an earlier period is charged to that period)."""

    budget: int = 10**6  # micro-USD: the budgeted key is never refused (it holds, it is checked)
    open: list[tuple[int, Admission, datetime, int]] = field(default_factory=list)
    """Calls in flight: which key, its admission, the period it was admitted in, its max cost."""
    charges: list[tuple[int, datetime, int]] = field(default_factory=list)

    def spent(self, who: int, start: datetime) -> int:
        return sum(c for k, s, c in self.charges if k == who and s == start)

    def held(self, start: datetime) -> int:
        """What the budgeted key (1) holds in the period that began at ``start``."""
        return sum(m for k, _, s, m in self.open if k == 1 and s == start)


STEPS = st.lists(
    st.one_of(
        # ("admit", which key, max cost µUSD), ("settle", which call, % of its max cost),
        # ("advance", hours, _): the clock moves on, maybe into another month
        st.tuples(st.just("admit"), st.integers(0, 1), st.integers(0, 1000)),
        st.tuples(st.just("settle"), st.integers(0, 40), st.integers(0, 150)),
        st.tuples(st.just("advance"), st.integers(1, 24 * 45), st.just(0)),
    ),
    max_size=50,
)


async def check_interleaving(
    quotas: Quotas, now: list[datetime], steps: list[tuple[str, int, int]]
) -> None:
    model = Model()
    keys = [make_key(), make_key(budget=str(Decimal(model.budget) * MICRO))]
    for op, a, b in steps:
        start = budget_period_start("month", now[0])
        if op == "admit":
            got = await admit(quotas, keys[a], max_cost_usd=Decimal(b) * MICRO)
            assert got.hold is not None
            assert (got.hold.id == CHARGE_ONLY) is (a == 0)
            model.open.append((a, got, start, b))
            if a == 1:  # what the budgeted key has left: its spend and every hold counted
                left = model.budget - model.spent(1, start) - model.held(start)
                assert got.headers[HEADER_BUDGET_REMAINING] == str(usd(left))
        elif op == "settle" and model.open:
            who, admission, admitted_in, max_cost = model.open.pop(a % len(model.open))
            cost = max_cost * b // 100  # up to 150 %: a real cost may exceed the estimate
            await settle(quotas, admission, Decimal(cost) * MICRO)
            model.charges.append((who, admitted_in, cost))
        elif op == "advance":
            now[0] += timedelta(hours=a)
        start = budget_period_start("month", now[0])
        for who, key in enumerate(keys):
            assert await quotas.spent(key) == usd(model.spent(who, start))


@settings(max_examples=200, deadline=None)
@given(steps=STEPS)
async def test_any_interleaving_of_budgeted_and_unbudgeted_calls_sums_exactly(
    steps: list[tuple[str, int, int]],
) -> None:
    now = [T0]
    quotas = Quotas(now=lambda: now[0])
    await check_interleaving(quotas, now, steps)
    # and nothing is kept of a past period but what a call in flight still holds
    budgets: Any = quotas._budgets
    assert isinstance(budgets, LocalBudgets)
    current = set(budgets._current.values())
    for slot, (_spent, held) in budgets._counters.items():
        assert slot in current or held > 0, slot


@pytest.mark.redis
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS.map(lambda steps: [s for s in steps if s[0] != "advance"]))
async def test_any_interleaving_sums_exactly_in_redis(
    redis_url: str, steps: list[tuple[str, int, int]]
) -> None:
    # Redis expires a counter at its period's end (+7 days) by the server's clock: real time only
    now = [datetime.now(UTC)]
    quotas = Quotas(redis_url=redis_url, now=lambda: now[0])
    try:
        await check_interleaving(quotas, now, steps)  # each example has keys of its own
    finally:
        await quotas.aclose()
