"""Fault injection: per-model 429/529/500/504, resets, slow first bytes, broken streams, and the
cloud platforms' own throttling and quota errors (per endpoint: ``endpoint="bedrock"``).

    >>> from claude_arch.emulator.config import FaultSpec
    >>> faults = FaultInjector([FaultSpec(kind="529", model="claude-opus-4-6", next_n=1)], seed=0)
    >>> faults.draw("claude-opus-4-6", streaming=False).kind
    '529'
    >>> faults.draw("claude-opus-4-6", streaming=False) is None   # next_n used up
    True

A fault fires when its model matches (ID, alias or ``*``) and its schedule or seeded coin says so.
``slow_first_byte`` delays a reply and combines with one other fault; the stream-only kinds
(``mid_stream_error``, ``stream_cut``) only hit streaming requests.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from claude_arch.emulator.config import FaultSpec

__all__ = ["Draw", "FaultInjector"]

_STREAM_ONLY = frozenset({"mid_stream_error", "stream_cut"})
# Platform-only kinds and the endpoint they hit.
_PLATFORM_ONLY = {
    "throttling": "bedrock",
    "service_unavailable": "bedrock",
    "resource_exhausted": "vertex",
}


@dataclass(frozen=True, slots=True)
class Draw:
    """What to do to one request: an outcome fault (or None) and a first-byte delay."""

    fault: FaultSpec | None
    slow_s: float = 0.0

    @property
    def kind(self) -> str | None:
        return self.fault.kind if self.fault else None


class _Armed:
    __slots__ = ("left", "seen", "spec")

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.left = spec.next_n
        self.seen = 0


class FaultInjector:
    """The configured faults and their schedules; replaceable at run time."""

    def __init__(self, specs: Iterable[FaultSpec] = (), *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._armed = [_Armed(s) for s in specs]

    @property
    def specs(self) -> list[FaultSpec]:
        return [a.spec for a in self._armed]

    def replace(self, specs: Iterable[FaultSpec], *, seed: int | None = None) -> None:
        armed = [_Armed(s) for s in specs]
        with self._lock:
            self._armed = armed
            if seed is not None:
                self._rng = random.Random(seed)

    def _fires(self, armed: _Armed) -> bool:
        armed.seen += 1
        if armed.left > 0:
            armed.left -= 1
            return True
        if armed.spec.every and armed.seen % armed.spec.every == 0:
            return True
        return armed.spec.probability > 0 and self._rng.random() < armed.spec.probability

    def draw(
        self,
        model: str,
        *,
        streaming: bool,
        aliases: Iterable[str] = (),
        endpoint: str = "anthropic",
    ) -> Draw | None:
        """The faults for one request to ``model`` on ``endpoint``, or None (the common,
        cheap case)."""
        if not self._armed:
            return None
        names = {model, *aliases}
        outcome: FaultSpec | None = None
        slow = 0.0
        with self._lock:
            for armed in self._armed:
                spec = armed.spec
                if spec.model != "*" and spec.model not in names:
                    continue
                if spec.kind in _STREAM_ONLY and not streaming:
                    continue
                if spec.endpoint not in ("*", endpoint):
                    continue
                if _PLATFORM_ONLY.get(spec.kind, endpoint) != endpoint:
                    continue
                if spec.kind == "slow_first_byte":
                    if self._fires(armed):
                        slow = max(slow, spec.seconds)
                elif outcome is None and self._fires(armed):
                    outcome = spec
        if outcome is None and not slow:
            return None
        return Draw(outcome, slow)
