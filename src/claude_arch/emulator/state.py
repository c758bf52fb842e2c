"""Everything one running emulator holds: config, limits, faults, rules, cache, batches, stats.

    >>> state = EmulatorState(EmulatorConfig(speed=0))
    >>> state.latency.paced
    False

Tests pass ``clock`` to drive prompt-cache TTLs and rate-limit refills without sleeping; it is a
``time.monotonic``-like function. (Batch expiry follows the wall clock: set ``batch_expiry_s``.)
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from claude_arch.core.pricing.catalog import Catalog, ModelInfo, default_catalog, refuse_retired
from claude_arch.emulator.answers.latency import LatencyModel
from claude_arch.emulator.answers.rules import ScriptedRules, load_rules
from claude_arch.emulator.config import EmulatorConfig
from claude_arch.emulator.faults import FaultInjector
from claude_arch.emulator.limits import EmulatorLimits
from claude_arch.emulator.prompt_cache import PromptCache
from claude_arch.emulator.stats import ServerStats

__all__ = ["Clock", "EmulatorConfig", "EmulatorState"]

Clock = Callable[[], float]


class EmulatorState:
    def __init__(
        self,
        config: EmulatorConfig,
        *,
        catalog: Catalog | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.config = config
        self.catalog = catalog or default_catalog()
        self.clock = clock
        self.latency = LatencyModel(config)
        self.limits = EmulatorLimits(config, catalog=self.catalog, clock=clock)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        rules = list(config.rules)
        if config.rules_file is not None:
            rules += load_rules(config.rules_file)
        self.rules = ScriptedRules(rules)
        self.cache = PromptCache(min_tokens=config.cache_min_tokens, clock=clock)
        self.stats = ServerStats()
        self._salts = itertools.count(1)
        self.allowed_keys = frozenset(config.api_keys)
        self.received: deque[dict[str, Any]] = deque(maxlen=config.keep_requests)

    def salt(self) -> int:
        """0 when replies are deterministic, else a fresh value per request."""
        return 0 if self.config.deterministic else next(self._salts)

    def serves(self, info: ModelInfo) -> bool:
        """Whether the Anthropic routes serve (and list) ``info`` on the config's ``today``:
        not past its retirement day, or ``serve_retired``."""
        return self.config.serve_retired or not info.retired(self.config.today)

    def refuse_retired(self, info: ModelInfo) -> None:
        """The Claude API's 404 for a model past its retirement day (core's
        :func:`~claude_arch.core.pricing.catalog.refuse_retired` on the config's ``today``),
        unless ``serve_retired``; the Bedrock and Vertex routes do not ask."""
        if not self.config.serve_retired:
            refuse_retired(info, self.config.today)

    def reset(self) -> None:
        """Forget statistics, cached prompts and limits' usage (faults and rules stay)."""
        self.stats.reset()
        self.cache.clear()
        self.limits = EmulatorLimits(self.config, catalog=self.catalog, clock=self.clock)
