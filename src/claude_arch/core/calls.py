"""``Call``: one logical Messages call, planned and validated, across its attempts.

A client builds it (``client.build_call``), a caller may read it before sending (the validated
params, the token estimate, the model), and the client sends it (``send_call``, ``stream_call``);
the same object then records the attempts made and the model that answered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_arch.core.pricing.catalog import ModelInfo
    from claude_arch.core.retry import Deadline
    from claude_arch.core.routing import Decision

__all__ = ["Call"]


@dataclass(slots=True)
class Call:
    """One logical call (across attempts and fallback models) and what it has cost so far."""

    operation: str
    params: dict[str, Any]
    requested: ModelInfo
    deadline: Deadline
    timeout: float | None
    input_estimate: int = 0
    max_tokens: int = 0
    attempts: int = 0
    started: float = field(default_factory=time.perf_counter)
    model: ModelInfo | None = None
    fallback: bool = True
    headers: dict[str, str] | None = None
    """The client's headers plus the call's ``extra_headers``, when it has some."""
    route: Decision | None = None
    """For ``model: "auto"`` with a router: its decision; ``route_chain`` the models to try."""
    route_chain: tuple[str, ...] = ()

    @property
    def current(self) -> ModelInfo:
        return self.model or self.requested
