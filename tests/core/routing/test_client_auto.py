"""A client given a router sends ``model: "auto"`` where the router decides, JSON and streamed,
and its usage record says why; without a router "auto" is the default model, as before."""

from __future__ import annotations

from claude_arch.core.client import ClaudeClient
from claude_arch.core.routing import build_router
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

HI = [{"role": "user", "content": "Hi!"}]
PROOF = [{"role": "user", "content": "Prove that the square root of 2 is irrational."}]


async def test_auto_is_routed_per_request() -> None:
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    async with (
        EmulatorServer() as emu,
        ClaudeClient(
            settings, base_url=emu.url, api_key=emu.api_key, router=build_router("default")
        ) as claude,
    ):
        quick = await claude.create(model="auto", max_tokens=32, messages=HI)
        async with claude.stream(model="auto", max_tokens=32, messages=PROOF) as stream:
            hard = await stream.final_message()
    assert quick.model == "claude-haiku-5-5"
    assert quick.record is not None
    assert quick.record.route is not None
    assert (quick.record.route["tier"], quick.record.route["classifier"]) == ("fast", "rules")
    assert hard.model == "claude-opus-5-5"
    assert hard.record is not None
    assert hard.record.route is not None
    assert hard.record.route["tier"] == "deep"


async def test_without_a_router_auto_is_the_default_model() -> None:
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    async with (
        EmulatorServer() as emu,
        ClaudeClient(settings, base_url=emu.url, api_key=emu.api_key) as claude,
    ):
        message = await claude.create(model="auto", max_tokens=32, messages=PROOF)
    assert message.model == settings.default_model
    assert message.record is not None
    assert message.record.route is None


async def test_batches_and_token_counts_route_auto_per_request() -> None:
    settings = Settings(_env_file=None, rate_limit_tier="none")  # type: ignore[call-arg]
    async with (
        EmulatorServer(keep_requests=5) as emu,
        ClaudeClient(
            settings, base_url=emu.url, api_key=emu.api_key, router=build_router("default")
        ) as claude,
    ):
        checked = claude.batches.check(
            [
                {
                    "custom_id": "quick",
                    "params": {"model": "auto", "max_tokens": 32, "messages": HI},
                },
                {
                    "custom_id": "hard",
                    "params": {"model": "auto", "max_tokens": 32, "messages": PROOF},
                },
            ]
        )
        counted = await claude.count_tokens(model="auto", messages=PROOF)
    assert [r["params"]["model"] for r in checked.requests] == [
        "claude-haiku-5-5",
        "claude-opus-5-5",
    ]
    assert counted > 0
    assert emu.received()[-1]["body"]["model"] == "claude-opus-5-5"
