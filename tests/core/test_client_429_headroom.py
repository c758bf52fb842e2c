"""A 429 on one model moves the call at once to the next model of its fallback chain whose
family the limiter would admit now (no cooldown: the model is not failing, its bucket is
empty); without such a model the 429 is waited out or raised as before."""

from __future__ import annotations

from claude_arch.core.client import ClaudeClient
from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hello"}]
ROOMY = Limits(rpm=1000, itpm=10**7, otpm=10**6)


def limiter(sonnet: Limits = ROOMY) -> LocalRateLimiter:
    return LocalRateLimiter({"haiku": ROOMY, "sonnet": sonnet})


async def test_a_429_moves_to_a_roomy_family_at_once(
    emulator: EmulatorServer, settings: Settings
) -> None:
    emulator.set_faults({"kind": "429", "model": HAIKU, "every": 1, "seconds": 20})
    async with ClaudeClient(
        settings,
        base_url=emulator.url,
        api_key=emulator.api_key,
        limiter=limiter(),
        fallbacks={HAIKU: [SONNET]},
    ) as claude:
        message = await claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=5)
        assert not claude.core.cooldowns.cooling(HAIKU)  # a full bucket is not a failure
    assert message.model == SONNET
    assert message.record is not None
    assert (message.record.attempts, message.record.fallback_from) == (2, HAIKU)
    by_model = emulator.stats()["by_model"]
    assert by_model[HAIKU]["fault_429"] == 1
    assert by_model[SONNET]["requests"] == 1


async def test_without_headroom_elsewhere_the_429_is_waited_out_on_its_model(
    emulator: EmulatorServer, settings: Settings
) -> None:
    emulator.set_faults({"kind": "429", "model": HAIKU, "next_n": 1, "seconds": 0.2})
    full = limiter(sonnet=Limits(rpm=1, itpm=10**7, otpm=10**6))
    full.try_acquire("sonnet", input_tokens=1, output_tokens=1)  # its one request is taken
    async with ClaudeClient(
        settings,
        base_url=emulator.url,
        api_key=emulator.api_key,
        limiter=full,
        fallbacks={HAIKU: [SONNET]},
    ) as claude:
        message = await claude.create(model=HAIKU, max_tokens=16, messages=HELLO, deadline=5)
    assert message.model == HAIKU  # retried after retry-after, not moved
    assert message.record is not None
    assert (message.record.attempts, message.record.fallback_from) == (2, None)
    assert SONNET not in emulator.stats()["by_model"]
