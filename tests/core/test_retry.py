"""The retry policy: what is retried, how long the waits are, and the deadline."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.retry import Cooldowns, Deadline, RetryPolicy, falls_back
from claude_arch.core.wire import error_from_response
from claude_arch.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    OverloadedError,
    SpendLimitError,
    StreamInterruptedError,
    error_for_status,
)


def status_error(status: int, **headers: str) -> APIError:
    return error_from_response(status, {k.replace("_", "-"): v for k, v in headers.items()}, b"")


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(status: int) -> None:
    assert RetryPolicy().is_retryable(status_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_caller_errors_are_never_retried(status: int) -> None:
    assert not RetryPolicy().is_retryable(status_error(status))
    assert not RetryPolicy().is_retryable(status_error(status, x_should_retry="true"))


def test_spend_limit_is_never_retried_nor_falls_back() -> None:
    body = {
        "error": {
            "type": "rate_limit_error",
            "details": {"error_code": "enforced_spend_limit_reached"},
        }
    }
    exc = error_for_status(429, body, should_retry=True, retry_after=1.0)
    assert isinstance(exc, SpendLimitError)
    assert not RetryPolicy().is_retryable(exc)
    assert not falls_back(exc)


def test_x_should_retry_decides_for_other_statuses() -> None:
    assert not RetryPolicy().is_retryable(status_error(529, x_should_retry="false"))
    assert RetryPolicy().is_retryable(status_error(402, x_should_retry="true"))
    assert not RetryPolicy().is_retryable(status_error(402))


def test_connection_errors_timeouts_and_cut_streams_are_retried() -> None:
    policy = RetryPolicy()
    for exc in (
        APIConnectionError("reset"),
        APITimeoutError("slow"),
        StreamInterruptedError("cut"),
    ):
        assert policy.is_retryable(exc)
        assert falls_back(exc)


def test_mid_stream_error_events_judged_by_type() -> None:
    overloaded = error_for_status(200, {"error": {"type": "overloaded_error", "message": "x"}})
    invalid = error_for_status(200, {"error": {"type": "invalid_request_error", "message": "x"}})
    assert isinstance(overloaded, OverloadedError)
    assert RetryPolicy().is_retryable(overloaded)
    assert falls_back(overloaded)
    assert not RetryPolicy().is_retryable(invalid)
    assert not falls_back(invalid)


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=2**32))
def test_backoff_is_jittered_exponential_and_capped(n: int, seed: int) -> None:
    policy = RetryPolicy(rng=random.Random(seed))
    base = min(0.5 * 2.0 ** min(n, 1000), 8.0)
    assert 0.75 * base <= policy.backoff(n) <= base


def test_server_retry_after_is_used_exactly() -> None:
    policy = RetryPolicy()
    assert policy.delay_for(status_error(429, retry_after="7"), 0) == 7.0
    assert policy.delay_for(status_error(529, retry_after_ms="1234"), 3) == 1.234
    assert 0.375 <= policy.delay_for(status_error(529, retry_after="0"), 0) <= 0.5


def test_budget_of_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    exc = status_error(529)
    unbounded = Deadline.within(None)
    assert policy.next_delay(exc, 1, unbounded) is not None
    assert policy.next_delay(exc, 2, unbounded) is not None
    assert policy.next_delay(exc, 3, unbounded) is None
    assert RetryPolicy(max_retries=0).next_delay(exc, 1, unbounded) is None


def test_deadline_stops_a_wait_that_would_overrun() -> None:
    policy = RetryPolicy()
    assert policy.next_delay(status_error(429, retry_after="5"), 1, Deadline.within(4.0)) is None
    assert policy.next_delay(status_error(429, retry_after="1"), 1, Deadline.within(4.0)) == 1.0


def test_deadline_clip_and_expiry() -> None:
    past = Deadline(time.monotonic() - 1)
    assert past.expired
    assert past.clip(10.0) == 0.001
    soon = Deadline.within(2.0)
    clipped = soon.clip(600.0)
    assert clipped is not None
    assert 0 < clipped <= 2.0
    assert Deadline.within(None).clip(600.0) == 600.0
    assert not Deadline.within(None).expired


def test_cooldowns_expire() -> None:
    cool = Cooldowns(seconds=30)
    cool.mark("a")
    cool.mark("b", seconds=0)
    assert cool.cooling("a")
    assert not cool.cooling("b")
    assert not cool.cooling("c")


@given(
    status=st.integers(min_value=400, max_value=599),
    should_retry=st.sampled_from([None, "true", "false"]),
    retry_after=st.one_of(st.none(), st.floats(min_value=-5, max_value=120)),
    attempts=st.integers(min_value=1, max_value=6),
    max_retries=st.integers(min_value=0, max_value=5),
    left=st.one_of(st.none(), st.floats(min_value=0.01, max_value=200)),
)
def test_next_delay_follows_the_rules(
    *,
    status: int,
    should_retry: str | None,
    retry_after: float | None,
    attempts: int,
    max_retries: int,
    left: float | None,
) -> None:
    headers = {}
    if should_retry is not None:
        headers["x-should-retry"] = should_retry
    if retry_after is not None:
        headers["retry-after"] = repr(retry_after)
    exc = error_from_response(status, headers, b"")
    deadline = Deadline(None if left is None else time.monotonic() + left)
    delay = RetryPolicy(max_retries=max_retries).next_delay(exc, attempts, deadline)

    if status in (400, 401, 403, 404, 413):
        retryable = False
    elif should_retry is not None:
        retryable = should_retry == "true"
    else:
        retryable = status in (408, 409, 429) or status >= 500
    if not retryable or attempts > max_retries:
        assert delay is None
        return
    if delay is None:  # only a deadline too close may stop a retryable error within budget
        assert left is not None
        return
    if retry_after is not None and retry_after > 0:
        assert delay == retry_after
    else:
        base = min(0.5 * 2 ** (attempts - 1), 8.0)
        assert 0.75 * base <= delay <= base
    if left is not None:
        assert delay < left
