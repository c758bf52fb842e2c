"""What the model calls of a month cost, per model: list price, with prompt caching, in Message
Batches, and routed by the orchestrator.

    >>> from claude_arch.advisor.profile import profile_from_mapping
    >>> from claude_arch.advisor.sources import default_sources
    >>> p = profile_from_mapping({"traffic": {"mean_rpm": 10},
    ...     "tokens": {"input": {"p50": 1000}, "output": {"p50": 100}},
    ...     "models": ["claude-haiku-4-5"]})
    >>> c = model_cost(p, default_sources(), "claude-haiku-4-5")
    >>> c.calls, str(c.standard_usd), str(c.batch_usd)
    (432000, '648.00', '324.00')

Prices come from the catalog at the mean prompt's size (prompt-size tiers included), the batch
discount from the catalog, the routing saving from the measured ratio in the assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from claude_arch.advisor.demand import cached_prefix_tokens, monthly_minutes, write_share
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources

__all__ = ["ModelCost", "api_cost", "cents", "model_cost"]

_MTOK = Decimal(1_000_000)
_CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """``value`` rounded to the cent."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _dec(x: float) -> Decimal:
    return Decimal(repr(round(x, 6)))


@dataclass(frozen=True)
class ModelCost:
    """A month of the profile's calls on one model, in USD."""

    model: str
    calls: int
    standard_usd: Decimal
    cached_usd: Decimal | None
    """With prompt caching; None when the repeated prefix is too short to cache."""
    batch_usd: Decimal
    """Through Message Batches, caching included when it is cheaper."""

    @property
    def best_usd(self) -> Decimal:
        """The cheaper of with and without caching, at list price."""
        return min(self.standard_usd, self.cached_usd or self.standard_usd)

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "calls": self.calls,
            "standard_usd": float(self.standard_usd),
            "cached_usd": None if self.cached_usd is None else float(self.cached_usd),
            "batch_usd": float(self.batch_usd),
        }


def model_cost(profile: WorkloadProfile, sources: Sources, model: str) -> ModelCost:
    """The month's calls on ``model``: how many, and what they cost each way."""
    catalog = sources.catalog
    minutes = monthly_minutes(sources)
    calls = round(profile.traffic.mean_rpm * profile.traffic.steps_per_request * minutes)
    n = Decimal(calls)
    tokens_in, tokens_out = profile.tokens.input.mean, profile.tokens.output.mean
    prices = catalog.billed_prices(model, round(tokens_in))
    per_call_out = _dec(tokens_out) * prices.output
    standard = n * (_dec(tokens_in) * prices.input + per_call_out) / _MTOK
    prefix = cached_prefix_tokens(profile, sources, model)
    cached: Decimal | None = None
    if prefix > 0:
        writes = n * _dec(write_share(profile, sources))
        p = _dec(prefix)
        write_price = prices.cache_write_5m or prices.input
        read_price = prices.cache_read or prices.input
        cached = (
            writes * p * write_price
            + (n - writes) * p * read_price
            + n * (_dec(tokens_in - prefix) * prices.input + per_call_out)
        ) / _MTOK
    best = min(standard, cached if cached is not None else standard)
    return ModelCost(
        model=model,
        calls=calls,
        standard_usd=cents(standard),
        cached_usd=None if cached is None else cents(cached),
        batch_usd=cents(best * catalog.batch_discount),
    )


def api_cost(
    profile: WorkloadProfile, sources: Sources, *, batch: bool, routing: bool
) -> tuple[Decimal, Decimal]:
    """The month's API bill of a variant on the primary model, and what routing saved from it.

    Routing applies to a ``mixed`` workload: the balanced model's cost times the measured
    routed-to-balanced ratio; it never saves a negative amount (a cheap primary stays)."""
    own = model_cost(profile, sources, profile.model)
    usd = own.batch_usd if batch else own.best_usd
    saved = Decimal(0)
    if routing and profile.request_mix == "mixed":
        routing_data = sources.assumptions.routing
        balanced = model_cost(profile, sources, routing_data.balanced_model)
        base = balanced.batch_usd if batch else balanced.best_usd
        routed = cents(base * routing_data.cost_ratio)
        saved = max(Decimal(0), usd - routed)
    return usd - saved, saved
