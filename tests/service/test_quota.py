"""Per-key limits and budgets in one process: RPM, TPM, USD budgets, their headers and errors."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.errors import InvalidRequestError, RateLimitError, SpendLimitError
from claude_arch.service.tenancy.budgets import budget_period_end, budget_period_start
from claude_arch.service.tenancy.keys import ApiKey, BudgetPeriod
from claude_arch.service.tenancy.quota import Admission, Quotas

T0 = datetime(2026, 11, 17, 15, 4, 5, tzinfo=UTC)


def make_key(
    *,
    rpm: int | None = None,
    tpm: int | None = None,
    budget: str | None = None,
    period: BudgetPeriod = "month",
) -> ApiKey:
    return ApiKey(
        id=f"key_{secrets.token_hex(8)}",
        name="test",
        prefix="sk-ca-test00",
        rpm=rpm,
        tpm=tpm,
        budget_usd=None if budget is None else Decimal(budget),
        budget_period=period,
        created_at=T0,
        revoked_at=None,
    )


class Clocks:
    """A monotonic clock for the buckets and a wall clock for budget periods, moved together."""

    def __init__(self) -> None:
        self.mono = 100.0
        self.wall = T0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def quotas(clocks: Clocks) -> Quotas:
    return Quotas(clock=lambda: clocks.mono, now=lambda: clocks.wall)


async def admit(quotas: Quotas, key: ApiKey, **kw: Any) -> Admission:
    amounts: dict[str, Any] = {
        "input_tokens": 10,
        "max_output_tokens": 10,
        "max_cost_usd": Decimal("0.001"),
    }
    return await quotas.admit(key, **{**amounts, **kw})


async def test_rpm_refuses_with_retry_after_then_refills(quotas: Quotas, clocks: Clocks) -> None:
    key = make_key(rpm=3)
    for expected_remaining in ("2", "1", "0"):
        got = await admit(quotas, key)
        assert got.headers["anthropic-ratelimit-requests-remaining"] == expected_remaining
        assert got.headers["anthropic-ratelimit-requests-limit"] == "3"
        assert "anthropic-ratelimit-tokens-limit" not in got.headers
    with pytest.raises(RateLimitError) as exc_info:
        await admit(quotas, key)
    exc = exc_info.value
    assert exc.status == 429
    assert "3 requests per minute" in exc.message
    assert "tokens per minute" not in exc.message
    assert exc.retry_after == pytest.approx(20.0)
    assert exc.headers["anthropic-ratelimit-requests-remaining"] == "0"
    # reset: when the bucket is full again, as on the API
    assert exc.headers["anthropic-ratelimit-requests-reset"] == "2026-11-17T15:05:05Z"
    clocks.advance(20.0)
    await admit(quotas, key)


async def test_tpm_counts_input_plus_max_tokens_and_refunds_the_unused(
    quotas: Quotas, clocks: Clocks
) -> None:
    key = make_key(tpm=1000)
    first = await admit(quotas, key, input_tokens=300, max_output_tokens=300)
    assert first.headers["anthropic-ratelimit-tokens-remaining"] == "400"
    with pytest.raises(RateLimitError, match="1000 tokens per minute") as exc_info:
        await admit(quotas, key, input_tokens=300, max_output_tokens=300)
    assert "requests per minute" not in exc_info.value.message
    assert exc_info.value.retry_after == pytest.approx(200 * 60 / 1000)
    await quotas.settle(first, input_tokens=300, output_tokens=20, cost_usd=Decimal(0))
    await admit(quotas, key, input_tokens=300, max_output_tokens=300)  # 280 came back


async def test_a_request_larger_than_tpm_is_a_400(quotas: Quotas) -> None:
    key = make_key(tpm=1000)
    with pytest.raises(InvalidRequestError) as exc_info:
        await admit(quotas, key, input_tokens=600, max_output_tokens=401)
    assert exc_info.value.status == 400
    assert exc_info.value.field == "max_tokens"


async def test_budget_reserves_the_worst_case_and_charges_the_real_cost(quotas: Quotas) -> None:
    key = make_key(budget="1")
    first = await admit(quotas, key, max_cost_usd=Decimal("0.6"))
    assert first.headers["claude-arch-budget-limit-usd"] == "1.000000"
    assert first.headers["claude-arch-budget-remaining-usd"] == "0.400000"
    assert first.headers["claude-arch-budget-reset"] == "2026-12-01T00:00:00Z"
    with pytest.raises(SpendLimitError) as exc_info:
        await admit(quotas, key, max_cost_usd=Decimal("0.6"))
    exc = exc_info.value
    assert exc.status == 429
    assert exc.should_retry is False
    assert "held by calls in flight" in exc.message
    assert exc.headers["claude-arch-budget-remaining-usd"] == "0.400000"
    await quotas.settle(first, input_tokens=5, output_tokens=5, cost_usd=Decimal("0.1"))
    await quotas.settle(first, input_tokens=5, output_tokens=5, cost_usd=Decimal("0.1"))  # no-op
    assert await quotas.spent(key) == Decimal("0.1")
    second = await admit(quotas, key, max_cost_usd=Decimal("0.6"))
    await quotas.settle(second, input_tokens=5, output_tokens=5, cost_usd=Decimal("0.5"))
    with pytest.raises(SpendLimitError, match=r"0\.600000 USD spent"):
        await admit(quotas, key, max_cost_usd=Decimal("0.5"))


async def test_a_day_budget_starts_again_the_next_day(quotas: Quotas, clocks: Clocks) -> None:
    key = make_key(budget="0.5", period="day")
    got = await admit(quotas, key, max_cost_usd=Decimal("0.5"))
    await quotas.settle(got, input_tokens=1, output_tokens=1, cost_usd=Decimal("0.5"))
    with pytest.raises(SpendLimitError, match="resets at 2026-11-18T00:00:00Z"):
        await admit(quotas, key, max_cost_usd=Decimal("0.01"))
    clocks.advance(9 * 3600)  # past midnight UTC
    assert await quotas.spent(key) == 0
    await admit(quotas, key, max_cost_usd=Decimal("0.5"))


async def test_a_rate_limit_refusal_gives_the_budget_hold_back(
    quotas: Quotas, clocks: Clocks
) -> None:
    key = make_key(rpm=1, budget="1")
    await admit(quotas, key, max_cost_usd=Decimal("0.5"))
    with pytest.raises(RateLimitError):
        await admit(quotas, key, max_cost_usd=Decimal("0.5"))
    clocks.advance(60)
    await admit(quotas, key, max_cost_usd=Decimal("0.5"))  # 0.5 + 0.5 held: fits exactly


async def test_unlimited_keys_are_admitted_without_headers_but_their_spend_counts(
    quotas: Quotas,
) -> None:
    for key in (ApiKey.anonymous(), make_key()):
        for _ in range(50):
            got = await admit(quotas, key, input_tokens=10**6, max_cost_usd=Decimal(100))
            assert got.headers == {}
            await quotas.settle(got, input_tokens=1, output_tokens=1, cost_usd=Decimal("0.02"))
        assert await quotas.spent(key) == Decimal("1")
        await quotas.ping()


OPERATIONS = st.lists(
    st.one_of(
        # ("admit", max cost in micro-dollars, _) or ("settle", which one, % of its reservation)
        st.tuples(st.just("admit"), st.integers(0, 1_000), st.just(0)),
        st.tuples(st.just("settle"), st.integers(0, 50), st.integers(0, 100) | st.just(100)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(budget=st.integers(1, 2_000), ops=OPERATIONS)
async def test_charges_never_exceed_the_budget(
    budget: int, ops: list[tuple[str, int, int]]
) -> None:
    quotas = Quotas(now=lambda: T0)
    key = make_key(budget=str(Decimal(budget) / 10**6))
    open_admissions: list[tuple[Admission, int]] = []
    charged = 0
    for op, a, b in ops:
        if op == "admit":
            try:
                got = await admit(quotas, key, max_cost_usd=Decimal(a) / 10**6)
            except SpendLimitError:
                continue
            open_admissions.append((got, a))
        elif open_admissions:
            admission, reserved = open_admissions.pop(a % len(open_admissions))
            cost = reserved * b // 100
            await quotas.settle(
                admission, input_tokens=0, output_tokens=0, cost_usd=Decimal(cost) / 10**6
            )
            charged += cost
        assert charged <= budget
        assert await quotas.spent(key) == Decimal(charged) / 10**6


@given(
    period=st.sampled_from(["day", "month"]),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_a_period_holds_its_instant(period: str, now: datetime) -> None:
    start = budget_period_start(period, now)
    end = budget_period_end(period, start)
    assert end is not None
    assert start <= now < end
    assert budget_period_start(period, end) == end
