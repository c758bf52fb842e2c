"""Test helpers shipped with the package: start an emulator, script its replies, inject faults.

In sync code (or for a client that runs its own loop), the server runs in a background thread:

    from claude_arch.testing import EmulatorServer

    def test_classifier_routes_refunds() -> None:
        with EmulatorServer(speed=0) as emu:
            emu.script(user=r"(?i)refund", text="billing")
            client = anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key)
            ...
            assert emu.stats()["totals"]["requests"] == 1

The same server speaks Claude's APIs on Amazon Bedrock and Google Vertex AI:

    bedrock = anthropic.AnthropicBedrock(base_url=emu.url, aws_region="us-east-1",
                                         aws_access_key=emu.aws_access_key,
                                         aws_secret_key=emu.aws_secret_key)
    vertex = anthropic.AnthropicVertex(base_url=f"{emu.url}/v1", region="us-east5",
                                       project_id="my-project", access_token=emu.vertex_token)
    emu.stats()["by_endpoint"]       # {"bedrock": {"requests": …}, "vertex": {…}, …}

In async tests it runs in the current loop:

    async with EmulatorServer(rate_limit_tier="tier1") as emu:
        emu.set_faults({"kind": "529", "model": "claude-opus-4-5", "next_n": 1})

Defaults for tests: a free port on 127.0.0.1 and no pacing (``speed=0``); any ``EmulatorConfig``
field can be overridden by keyword (``EmulatorServer(lenient=True)`` accepts request fields the
API does not know, for a client newer than the emulator). :func:`start_embedded` is what the
client and the CLI use to run an emulator in-process.
"""

from __future__ import annotations

import time
from typing import Any

from claude_arch.background import AiohttpServer
from claude_arch.constants import EMULATOR_API_KEY
from claude_arch.emulator.app import create_app
from claude_arch.emulator.config import EmulatorConfig, FaultSpec, RuleSpec
from claude_arch.emulator.routes.messages import STATE_KEY
from claude_arch.emulator.state import Clock, EmulatorState

__all__ = [
    "EmulatorConfig",
    "EmulatorServer",
    "ManualClock",
    "start_embedded",
    "start_embedded_at",
]


class ManualClock:
    """A monotonic clock that moves only when the test says so; pass it as ``clock=`` to an
    ``EmulatorServer`` or a ``LocalRateLimiter`` to test TTLs and limits without sleeping.

        clock = ManualClock()
        with EmulatorServer(clock=clock, rate_limit_tier="tier1") as emu:
            ...                      # use up the bucket
            clock.advance(60)        # a minute later it is full again
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class EmulatorServer(AiohttpServer):
    """An emulator on a free local port; a context manager, sync (thread) or async (this loop)."""

    thread_name = "claude-arch-emulator"

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        **overrides: Any,
    ) -> None:
        super().__init__()
        base = config.model_dump() if config is not None else {"port": 0, "speed": 0}
        self.config = EmulatorConfig.model_validate({**base, **overrides})
        self.api_key = self.config.api_keys[0] if self.config.api_keys else EMULATOR_API_KEY
        self.app = create_app(self.config, clock=clock)

    @property
    def aws_access_key(self) -> str:
        """The access key ID Bedrock requests are signed with (``aws_credentials``' first)."""
        return next(iter(self.config.aws_credentials))

    @property
    def aws_secret_key(self) -> str:
        """The secret key of :attr:`aws_access_key`."""
        return self.config.aws_credentials[self.aws_access_key]

    @property
    def vertex_token(self) -> str:
        """A bearer token the Vertex routes accept (``vertex_tokens``' first)."""
        return self.config.vertex_tokens[0]

    @property
    def state(self) -> EmulatorState:
        return self.app[STATE_KEY]

    # --- lifecycle -----------------------------------------------------------------------------
    async def start_async(self) -> EmulatorServer:
        await self.serve_app(self.app, self.config.host, self.config.port)
        return self

    async def close_async(self) -> None:
        await self.stop_app()

    # --- control ---------------------------------------------------------------------------------
    def set_faults(self, *faults: FaultSpec | dict[str, Any], seed: int | None = None) -> None:
        """Replace the injected faults, e.g. ``set_faults({"kind": "529", "next_n": 2})``."""
        specs = [f if isinstance(f, FaultSpec) else FaultSpec.model_validate(f) for f in faults]
        self.state.faults.replace(specs, seed=seed)

    def add_rule(self, rule: RuleSpec | dict[str, Any]) -> None:
        """Append a scripted rule (``{"match": {...}, "reply": {...}}``); the first match wins."""
        self.state.rules.add(rule if isinstance(rule, RuleSpec) else RuleSpec.model_validate(rule))

    def script(
        self,
        *,
        user: str | None = None,
        system: str | None = None,
        model: str | None = None,
        text: str | None = None,
        tool_use: dict[str, Any] | list[dict[str, Any]] | None = None,
        error: dict[str, Any] | None = None,
        delay_s: float = 0.0,
        stop_reason: str | None = None,
    ) -> None:
        """Shorthand for :meth:`add_rule`: ``emu.script(user="(?i)refund", text="billing")``.

        ``tool_use``: one call ``{"name", "input"}``, or a list of them answered in parallel."""
        match = {"user": user, "system": system, "model": model}
        reply = {
            "text": text,
            "tool_use": tool_use,
            "error": error,
            "delay_s": delay_s,
            "stop_reason": stop_reason,
        }
        self.add_rule({"match": match, "reply": reply})

    def clear_rules(self) -> None:
        self.state.rules.replace([])

    def received(self) -> list[dict[str, Any]]:
        """The last requests that arrived (``keep_requests=N``): ``path``, ``headers`` (keys
        removed), ``body`` — what your code really sent."""
        return list(self.state.received)

    def stats(self) -> dict[str, Any]:
        """What the server saw (see ``/_emulator/stats``)."""
        return self.state.stats.snapshot()

    def reset(self) -> None:
        """Forget stats, cached prompts and limit usage."""
        self.state.reset()


def start_embedded(config: EmulatorConfig | None = None, **overrides: Any) -> EmulatorServer:
    """Start an emulator in a background thread of this process; ``.url``, then ``.close()``.

    Unlike :class:`EmulatorServer`'s test defaults, this keeps ``config`` as given (realistic
    speed unless told otherwise) and only picks a free port when ``config.port`` is 0.
    """
    return EmulatorServer(config or EmulatorConfig(port=0), **overrides).start()


def start_embedded_at(*, speed: float) -> EmulatorServer:
    """The embedded emulator a client without a key or base URL starts (core's
    :data:`~claude_arch.core.embedded.EMULATOR_HOOK`): a free port, pacing ``speed``."""
    return start_embedded(EmulatorConfig(port=0, speed=speed))
