"""The data the advisor reasons from: the model catalog, the latency model and the assumptions.

    >>> s = default_sources()
    >>> s.latency_of("claude-sonnet-5-5").ttft_s > 0
    True

Nothing here is copied: prices, limits and the batch discount come from ``core/models.toml``,
time to first token and tokens per second from the emulator's latency model, everything else from
``advisor/assumptions.toml``. Tests and what-if questions pass their own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from claude_arch.advisor.assumptions import Assumptions, default_assumptions
from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.emulator.config import DEFAULT_LATENCY, LatencyProfile

__all__ = ["Sources", "default_sources"]


@dataclass(frozen=True)
class Sources:
    """The catalog, the latency model per family and the advisor's assumptions."""

    catalog: Catalog
    latency: Mapping[str, LatencyProfile]
    assumptions: Assumptions

    def latency_of(self, model: str) -> LatencyProfile | None:
        """The latency model of ``model``'s family; None when the model has none."""
        return self.latency.get(self.catalog.resolve(model).family)

    def family(self, model: str) -> str:
        return self.catalog.resolve(model).family


@functools.cache
def default_sources() -> Sources:
    """The packaged catalog, the emulator's default latency model and the packaged assumptions."""
    return Sources(default_catalog(), dict(DEFAULT_LATENCY), default_assumptions())
