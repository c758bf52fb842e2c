"""An offline, Anthropic-compatible Messages API server: develop, test and load-test for free.

    from claude_arch.emulator import EmulatorConfig, create_app, serve

    serve(EmulatorConfig(port=4010, speed=1, rate_limit_tier="tier1"))   # foreground

In tests, use :mod:`claude_arch.testing` (``EmulatorServer``); the guide is ``docs/emulator.md``.
"""

from __future__ import annotations

from claude_arch.emulator.app import create_app, serve
from claude_arch.emulator.config import (
    EmulatorConfig,
    FaultSpec,
    LatencyProfile,
    LimitSpec,
    RuleSpec,
)

__all__ = [
    "EmulatorConfig",
    "FaultSpec",
    "LatencyProfile",
    "LimitSpec",
    "RuleSpec",
    "create_app",
    "serve",
]
