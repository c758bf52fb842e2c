"""The latency model: time to first token and output pace per model family, scaled by ``speed``.

    >>> from claude_arch.emulator.config import EmulatorConfig
    >>> model = LatencyModel(EmulatorConfig(speed=100))
    >>> 0 < model.first_token("haiku", 1) < 0.01
    True
    >>> LatencyModel(EmulatorConfig(speed=0)).per_token("opus", 1)
    0.0

``speed`` divides every delay (1 is realistic, 100 is test speed); 0 or infinity never sleeps,
which is how tests and the throughput benchmark run.
"""

from __future__ import annotations

import random

from claude_arch.emulator.config import DEFAULT_LATENCY, EmulatorConfig, LatencyProfile

__all__ = ["LatencyModel"]


class LatencyModel:
    def __init__(self, config: EmulatorConfig) -> None:
        self._profiles = {**DEFAULT_LATENCY, **config.latency}
        self._scale = 1.0 / config.speed if config.paced else 0.0
        self._default = DEFAULT_LATENCY["sonnet"]

    @property
    def paced(self) -> bool:
        return self._scale > 0

    def _profile(self, family: str) -> LatencyProfile:
        return self._profiles.get(family, self._default)

    def _jittered(self, base: float, jitter: float, seed: int) -> float:
        if jitter == 0:
            return base
        factor = random.Random(seed).uniform(1 - jitter, 1 + jitter)
        return base * factor

    def first_token(self, family: str, seed: int) -> float:
        """Seconds before the first token (0 when not paced)."""
        if not self._scale:
            return 0.0
        p = self._profile(family)
        return self._jittered(p.ttft_s, p.jitter, seed) * self._scale

    def per_token(self, family: str, seed: int) -> float:
        """Seconds per output token (0 when not paced)."""
        if not self._scale:
            return 0.0
        p = self._profile(family)
        return self._jittered(1.0 / p.tokens_per_s, p.jitter, seed + 1) * self._scale

    def whole_reply(self, family: str, seed: int, output_tokens: int) -> float:
        """Seconds a non-streaming reply of ``output_tokens`` takes."""
        return self.first_token(family, seed) + output_tokens * self.per_token(family, seed)
