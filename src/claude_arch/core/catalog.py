"""The model catalog: which model IDs exist, their family, limits and prices, and what a call cost.

    >>> from claude_arch.core.catalog import default_catalog
    >>> cat = default_catalog()
    >>> cat.resolve("claude-haiku-4-5-20251001").id
    'claude-haiku-4-5'
    >>> str(cat.cost("claude-haiku-4-5", {"input_tokens": 1000, "output_tokens": 500}))
    '0.003500'

An unknown ID fails before any request, naming the closest real ones:

    >>> cat.resolve("claude-haiku-4-20250514")
    Traceback (most recent call last):
    ...
    claude_arch.errors.UnknownModelError: model: unknown model 'claude-haiku-4-20250514'. ...
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from claude_arch.core.types import Usage
from claude_arch.errors import ConfigError, UnknownModelError

__all__ = [
    "MODELS_RELEASED_AT",
    "Catalog",
    "Limits",
    "ModelInfo",
    "Prices",
    "default_catalog",
    "model_object",
]

_MTOK = Decimal(1_000_000)
MODELS_RELEASED_AT = "2025-10-01T00:00:00Z"  # the catalog keeps no release dates
_CENT_PRECISION = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Prices:
    """List prices in USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    family: str
    display_name: str
    context_window: int
    max_output: int
    prices: Prices
    aliases: tuple[str, ...] = field(default=())
    retires: date | None = None
    """Deprecated models: the day the API stops serving them."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-minute limits of one model family: requests, input tokens, output tokens."""

    rpm: int
    itpm: int
    otpm: int


def _field(usage: Mapping[str, Any] | object, name: str) -> int:
    value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
    return int(value or 0)


class Catalog:
    """Model IDs and aliases → :class:`ModelInfo`; costs of usage records."""

    def __init__(
        self,
        models: list[ModelInfo],
        batch_discount: Decimal,
        tiers: Mapping[str, Mapping[str, Limits]] | None = None,
    ) -> None:
        self._models = models
        self.batch_discount = batch_discount
        self.tiers: dict[str, dict[str, Limits]] = {k: dict(v) for k, v in (tiers or {}).items()}
        self._by_name: dict[str, ModelInfo] = {}
        for m in models:
            for name in (m.id, *m.aliases):
                if name in self._by_name:
                    raise ConfigError(f"models.toml: model name {name!r} is listed twice")
                self._by_name[name] = m

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalog:
        """Read a catalog file (the packaged ``models.toml`` when no path is given)."""
        if path is None:
            text = resources.files("claude_arch.core").joinpath("models.toml").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        try:
            data = tomllib.loads(text)
            defaults = data.get("defaults", {})
            models = [
                ModelInfo(
                    id=m["id"],
                    family=m["family"],
                    display_name=m.get("display_name", m["id"]),
                    context_window=int(m.get("context_window", defaults.get("context_window"))),
                    max_output=int(m["max_output"]),
                    prices=Prices(**{k: Decimal(str(v)) for k, v in m["prices"].items()}),
                    aliases=tuple(m.get("aliases", ())),
                    retires=m.get("retires"),
                )
                for m in data["model"]
            ]
            discount = Decimal(str(defaults.get("batch_discount", "0.5")))
            tiers = {
                tier: {fam: Limits(**lim) for fam, lim in fams.items()}
                for tier, fams in data.get("tiers", {}).items()
            }
        except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError, ArithmeticError) as exc:
            raise ConfigError(
                f"model catalog {path or 'models.toml'} is malformed: {exc!r}"
            ) from exc
        return cls(models, discount, tiers)

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def families(self) -> list[str]:
        return sorted({m.family for m in self._models})

    def get(self, name: str) -> ModelInfo | None:
        return self._by_name.get(name)

    def resolve(self, name: str) -> ModelInfo:
        """The model for an ID or alias, or :class:`UnknownModelError` naming the closest IDs."""
        info = self._by_name.get(name)
        if info is None:
            raise UnknownModelError(name, self.suggest(name))
        return info

    def suggest(self, name: str, n: int = 3) -> list[str]:
        ids = [m.id for m in self._models]
        close = difflib.get_close_matches(name, ids, n=n, cutoff=0.5)
        if not close:
            family = next((f for f in self.families if f in name), None)
            close = [m.id for m in self._models if m.family == family][:n]
        return close

    def limits(self, tier: str) -> dict[str, Limits]:
        """The per-family limits of a usage tier preset (``tier1`` … ``tier4``)."""
        try:
            return dict(self.tiers[tier])
        except KeyError:
            known = ", ".join(sorted(self.tiers))
            raise ConfigError(
                f"unknown rate-limit tier {tier!r}; expected one of {known}"
            ) from None

    def cost(
        self, model: str, usage: Mapping[str, Any] | object, *, batch: bool | None = None
    ) -> Decimal:
        """USD cost of one usage record (a wire ``usage`` dict or an object with the same fields).

        Cache writes are priced by TTL when ``cache_creation`` splits them, else as 5-minute
        writes. ``batch`` defaults to ``usage.service_tier == "batch"``.
        """
        p = self.resolve(model).prices
        if isinstance(usage, Usage):  # the clients' own records: every call, read directly
            written = usage.cache_creation_input_tokens
            w1h, w5m = usage.cache_creation_1h, usage.cache_creation_5m
            inputs, outputs = usage.input_tokens, usage.output_tokens
            read = usage.cache_read_input_tokens
            tier = usage.service_tier
        else:
            cache_creation = (
                usage.get("cache_creation")
                if isinstance(usage, Mapping)
                else getattr(usage, "cache_creation", None)
            )
            written = _field(usage, "cache_creation_input_tokens")
            w1h = _field(cache_creation, "ephemeral_1h_input_tokens") if cache_creation else 0
            w5m = _field(cache_creation, "ephemeral_5m_input_tokens") if cache_creation else 0
            inputs = _field(usage, "input_tokens")
            outputs = _field(usage, "output_tokens")
            read = _field(usage, "cache_read_input_tokens")
            tier = (
                usage.get("service_tier")
                if isinstance(usage, Mapping)
                else getattr(usage, "service_tier", None)
            )
        if w1h + w5m != written:
            w5m = written - w1h
        total = inputs * p.input + outputs * p.output
        # Decimal arithmetic is dear on a gateway's per-request path: cache terms only if any
        if read:
            total += read * p.cache_read
        if w5m:
            total += w5m * p.cache_write_5m
        if w1h:
            total += w1h * p.cache_write_1h
        total /= _MTOK
        if batch is None:
            batch = tier == "batch"
        if batch:
            total *= self.batch_discount
        return total.quantize(_CENT_PRECISION)


def model_object(info: ModelInfo) -> dict[str, Any]:
    """A model as ``GET /v1/models`` lists it."""
    return {
        "type": "model",
        "id": info.id,
        "display_name": info.display_name,
        "created_at": MODELS_RELEASED_AT,
    }


@functools.cache
def default_catalog() -> Catalog:
    """The packaged catalog, loaded once per process."""
    return Catalog.load()
