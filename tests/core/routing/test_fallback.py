"""A 529 storm on one model opens its breaker, traffic moves to the next model of the tier, and
comes back once the breaker closes (real emulator, injected clock)."""

from __future__ import annotations

import pytest

from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing import LocalBreaker, Router, shipped_policy
from claude_arch.core.routing.breakers.redis import RedisBreaker
from claude_arch.core.types import Message
from claude_arch.errors import BadRequestError, InvalidRequestError
from claude_arch.testing import EmulatorServer, ManualClock

HELLO = {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}


def routed(message: Message) -> tuple[str, str | None]:
    """The model that answered and the one it stood in for, from the usage record."""
    assert message.record is not None
    assert message.record.route is not None
    return message.record.route["model"], message.record.route["fallback_from"]


async def test_a_529_storm_moves_traffic_and_it_comes_back() -> None:
    clock = ManualClock()
    router = Router(
        shipped_policy(), breaker=LocalBreaker(failures=3, window_s=60, cooldown_s=30, clock=clock)
    )
    async with (
        EmulatorServer() as emu,
        # no client cooldown: the router's breaker alone keeps traffic away
        ClaudeClient(
            api_key=emu.api_key, base_url=emu.url, max_retries=0, router=router, cooldown_s=0
        ) as claude,
    ):
        emu.set_faults({"kind": "529", "model": "claude-haiku-5-5", "probability": 1.0})
        answered = [routed(await claude.create(**HELLO)) for _ in range(6)]
        assert all(model == "claude-haiku-4-5" for model, _ in answered)
        # three failures open the breaker; later decisions pick the next model directly
        assert [stood_in for _, stood_in in answered] == ["claude-haiku-5-5"] * 3 + [None] * 3
        assert router.breaker.state("claude-haiku-5-5") == "open"
        by_model = emu.stats()["by_model"]
        assert emu.stats()["totals"]["fault_529"] == 3  # the breaker stopped the storm's traffic
        assert by_model["claude-haiku-4-5"]["requests"] == 6

        clock.advance(30)  # half-open: one probe, still failing: open again
        assert routed(await claude.create(**HELLO))[0] == "claude-haiku-4-5"
        assert router.breaker.state("claude-haiku-5-5") == "open"

        emu.set_faults()  # the storm is over
        clock.advance(30)
        assert routed(await claude.create(**HELLO)) == ("claude-haiku-5-5", None)
        assert router.breaker.state("claude-haiku-5-5") == "closed"


async def test_a_bad_request_is_not_a_fallback() -> None:
    router = Router(shipped_policy())
    async with (
        EmulatorServer() as emu,
        ClaudeClient(api_key=emu.api_key, base_url=emu.url, max_retries=0, router=router) as claude,
    ):
        emu.script(
            user="bad", error={"status": 400, "type": "invalid_request_error", "message": "no"}
        )
        with pytest.raises(BadRequestError):
            await claude.create(
                model="auto", max_tokens=64, messages=[{"role": "user", "content": "bad"}]
            )
        with pytest.raises(InvalidRequestError):
            await claude.create(model="auto", max_tokens=64, messages=[])
    assert router.breaker.state("claude-haiku-5-5") == "closed"


@pytest.mark.redis
def test_the_redis_breaker_is_shared_between_processes(redis_url: str) -> None:
    clock = ManualClock()
    one = RedisBreaker(redis_url, failures=2, window_s=10, cooldown_s=30, clock=clock)
    two = RedisBreaker(redis_url, failures=2, window_s=10, cooldown_s=30, clock=clock)
    try:
        one.record_failure("m")
        two.record_failure("m")
        assert one.state("m") == two.state("m") == "open"
        assert not two.allow("m")
        clock.advance(30)
        assert [one.allow("m"), two.allow("m")] == [True, False]  # one probe between them
        two.record_success("m")
        assert one.state("m") == "closed"
        assert one.allow("m")
        one.record_failure("m")
        clock.advance(11)  # out of the window: one failure is not enough
        one.record_failure("m")
        assert two.state("m") == "closed"
    finally:
        one.close()
        two.close()
