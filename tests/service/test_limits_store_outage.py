"""Redis failing at the rate-limit step (after the budget step answered) is the same 502 as at
the budget step: "the limits store is unreachable", with no address. Before, the core limiter's
own message reached the caller: ``rate-limit store redis://<host>:<port>/<db> unreachable:
Error 111 connecting to <host>:<port>``."""

from __future__ import annotations

import pytest
from test_quota import admit, make_key

from claude_arch.core.ratelimit.redis import RedisRateLimiter
from claude_arch.errors import StoreUnavailableError
from claude_arch.service.tenancy.quota import Quotas

pytestmark = pytest.mark.redis

UNREACHABLE = "redis://127.0.0.1:1/0"


async def test_a_limiter_outage_after_the_budget_is_a_502_naming_no_address(
    redis_url: str,
) -> None:
    quotas = Quotas(redis_url=redis_url)
    # the budget store answers; the bucket store does not (Redis went away between the two)
    quotas._limiter = RedisRateLimiter(UNREACHABLE, fail_open=False)
    key = make_key(rpm=10, budget="1")
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await admit(quotas, key)
        assert "127.0.0.1" not in caught.value.message
        assert "limits store is unreachable" in caught.value.message
        # the budget reservation was handed back
        assert (await quotas._budgets.state(quotas._slot(key, quotas._now())[0])).held == 0
    finally:
        await quotas.aclose()
