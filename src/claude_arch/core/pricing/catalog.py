"""The model catalog: which model IDs exist, their family, limits and prices, and what a call cost.

    >>> from claude_arch.core.pricing.catalog import default_catalog
    >>> cat = default_catalog()
    >>> cat.resolve("claude-haiku-4-5-20251001").id
    'claude-haiku-4-5'
    >>> str(cat.cost("claude-haiku-4-5", {"input_tokens": 1000, "output_tokens": 500}))
    '0.003500'

A model can price by prompt size: Haiku 5.5 bills $0.10 per million input tokens up to a
100,000-token prompt and $0.50 above, where the prompt counts cache writes and reads too, and its
unpublished cache-read price there is derived (0.1x input):

    >>> str(cat.cost("claude-haiku-5-5", {"input_tokens": 100_000}))
    '0.010000'
    >>> long_prompt = {"input_tokens": 90_000, "cache_read_input_tokens": 20_000}
    >>> str(cat.cost("claude-haiku-5-5", long_prompt))
    '0.046000'

Where a call runs prices it too: the cloud platforms bill their regional endpoints above the
list prices (:class:`Placement`; the factors are in ``models.toml``'s ``[endpoints]``):

    >>> on_bedrock = cat.placed(Placement("bedrock", {"bedrock": "regional"}))
    >>> str(on_bedrock.cost("claude-haiku-4-5", {"input_tokens": 1000, "output_tokens": 500}))
    '0.003850'
    >>> on_bedrock.where("claude-haiku-4-5"), on_bedrock.where("vertex:claude-haiku-4-5")
    (('bedrock', 'regional'), ('vertex', 'global'))

An unknown ID fails before any request, naming the closest real ones:

    >>> cat.resolve("claude-haiku-4-20250514")
    Traceback (most recent call last):
    ...
    claude_arch.errors.UnknownModelError: model: unknown model 'claude-haiku-4-20250514'. ...
"""

from __future__ import annotations

import difflib
import functools
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from claude_arch.constants import PROVIDERS
from claude_arch.core.types import Usage
from claude_arch.errors import ConfigError, NotFoundError, UnknownModelError

__all__ = [
    "BEDROCK_APIS",
    "CONTEXT_STRATEGIES",
    "EFFORT_LEVELS",
    "MODELS_RELEASED_AT",
    "SERVER_TOOLS",
    "THINKING_TYPES",
    "UNKNOWN_PRICE",
    "Capabilities",
    "Catalog",
    "Limits",
    "ModelInfo",
    "Placement",
    "PriceTier",
    "Prices",
    "default_catalog",
    "endpoint_kind",
    "model_object",
    "refuse_retired",
]

_MTOK = Decimal(1_000_000)
MODELS_RELEASED_AT = "2025-10-01T00:00:00Z"  # the catalog keeps no release dates
_CENT_PRECISION = Decimal("0.000001")
UNKNOWN_PRICE = "unknown"
"""How ``models.toml`` marks a price that is not published."""
_PRICE_NAMES = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_CACHE_PRICE_NAMES = ("cache_write_5m", "cache_write_1h", "cache_read")

THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
"""The ``thinking.type`` values a model's capabilities speak of."""
EFFORT_LEVELS = ("high", "low", "max", "medium", "xhigh")
SERVER_TOOLS = ("code_execution", "web_search")
CONTEXT_STRATEGIES = ("clear_thinking_20251015", "clear_tool_uses_20250919", "compact_20260112")
_CAPABILITY_FLAGS = (
    "batch",
    "citations",
    "code_execution",
    "image_input",
    "pdf_input",
    "structured_outputs",
)
_CAPABILITY_LISTS = {
    "thinking": THINKING_TYPES,
    "effort": EFFORT_LEVELS,
    "server_tools": SERVER_TOOLS,
    "context_management": CONTEXT_STRATEGIES,
}

BEDROCK_APIS = ("invoke", "messages")
"""How Bedrock serves a model: InvokeModel (``/model/{id}/invoke``, an AWS event stream), or its
Messages endpoint (``/anthropic/v1/messages``, the Messages API with SSE)."""
GLOBAL = "global"
"""The endpoint kind every provider has, billed at the factor ``[endpoints.<provider>]`` gives
it (1 when not listed)."""

_Rates = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]
"""input, output, cache write 5m, cache write 1h, cache read: what ``cost`` multiplies by."""
_Bill = tuple[_Rates, tuple[tuple[int, _Rates], ...]]
"""A model's rates below its lowest tier, and its tiers' (threshold, rates), highest first."""


@dataclass(frozen=True, slots=True)
class Prices:
    """List prices in USD per million tokens; a cache price not published is ``None``."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal | None
    cache_write_1h: Decimal | None
    cache_read: Decimal | None

    @property
    def unknown(self) -> tuple[str, ...]:
        """The names of the prices that are not published."""
        return tuple(name for name in _CACHE_PRICE_NAMES if getattr(self, name) is None)


@dataclass(frozen=True, slots=True)
class PriceTier:
    """The prices of a call whose prompt (input + cache-write + cache-read tokens) has more than
    ``above_prompt_tokens`` tokens."""

    above_prompt_tokens: int
    prices: Prices


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a model accepts, as ``GET /v1/models`` reports it (the SDK's ``ModelCapabilities``).

    The list fields hold the supported names (``thinking``: :data:`THINKING_TYPES`, ``effort``:
    :data:`EFFORT_LEVELS`, ``server_tools``: :data:`SERVER_TOOLS`, ``context_management``:
    :data:`CONTEXT_STRATEGIES`); empty means not supported.
    """

    batch: bool = False
    citations: bool = False
    code_execution: bool = False
    image_input: bool = False
    pdf_input: bool = False
    structured_outputs: bool = False
    thinking: frozenset[str] = frozenset({"disabled"})
    effort: frozenset[str] = frozenset()
    server_tools: frozenset[str] = frozenset()
    context_management: frozenset[str] = frozenset()

    def to_api(self) -> dict[str, Any]:
        """The ``capabilities`` object of a model, every key present."""

        def support(flag: bool) -> dict[str, bool]:
            return {"supported": flag}

        def choices(chosen: frozenset[str], names: tuple[str, ...]) -> dict[str, Any]:
            return {"supported": bool(chosen), **{n: support(n in chosen) for n in names}}

        return {
            "batch": support(self.batch),
            "citations": support(self.citations),
            "code_execution": support(self.code_execution),
            "context_management": choices(self.context_management, CONTEXT_STRATEGIES),
            "effort": choices(self.effort, EFFORT_LEVELS),
            "image_input": support(self.image_input),
            "pdf_input": support(self.pdf_input),
            "server_tools": choices(self.server_tools, SERVER_TOOLS),
            "structured_outputs": support(self.structured_outputs),
            "thinking": {
                # "disabled" alone is a model that does not think
                "supported": bool(self.thinking - {"disabled"}),
                "types": {t: support(t in self.thinking) for t in THINKING_TYPES},
            },
        }


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    family: str
    display_name: str
    context_window: int
    max_output: int
    prices: Prices
    """The prices of prompts up to the lowest of ``price_tiers`` (of every prompt without)."""
    aliases: tuple[str, ...] = field(default=())
    retires: date | None = None
    """Deprecated models: the day the API stops serving them (from then on it answers 404
    ``not_found_error`` for them)."""
    price_tiers: tuple[PriceTier, ...] = field(default=())
    """Prices of longer prompts, lowest threshold first."""
    capabilities: Capabilities = field(default=Capabilities())
    bedrock_id: str | None = None
    """The base model ID on Amazon Bedrock (``anthropic.…``), where Bedrock serves it."""
    vertex_id: str | None = None
    """The model name on Google Vertex AI (``claude-…@date``), where Vertex serves it."""
    provider: str | None = None
    """Set on a provider-qualified name (``bedrock:claude-sonnet-4-5``): the model as that
    provider serves it, in a fallback chain beside the same model on the default upstream."""
    bedrock_api: str = "invoke"
    """Which Bedrock API serves it (:data:`BEDROCK_APIS`): ``messages`` for the models Bedrock
    serves on its Messages endpoint only (Opus 4.7 and later)."""
    regional_premium: bool = True
    """Whether the platforms' endpoint factors (``[endpoints]``) apply to it: Claude Sonnet 4.5
    and every later model; earlier models keep the platforms' own pricing."""
    inference_geo: bool = True
    """Whether the Claude API takes a request's ``inference_geo`` for it: Claude Opus 4.6 and
    every later model; it answers 400 for an older one."""

    def retired(self, today: date | None = None) -> bool:
        """Whether the Claude API has stopped serving it (its retirement day is ``today`` or
        past; today's date in UTC when not given)."""
        if self.retires is None:
            return False
        return self.retires <= (today or datetime.now(UTC).date())

    def prices_for(self, prompt_tokens: int) -> Prices:
        """The published prices of a call with a prompt of ``prompt_tokens`` tokens."""
        chosen = self.prices
        for tier in self.price_tiers:
            if prompt_tokens > tier.above_prompt_tokens:
                chosen = tier.prices
        return chosen


def refuse_retired(info: ModelInfo, today: date | None = None) -> None:
    """:class:`NotFoundError` (404 ``not_found_error``) naming the model and the day it was
    retired, when the Claude API no longer serves it on ``today`` (UTC today when not given), as
    the API answers a request to a retired model. Bedrock and Vertex retire models on their own
    schedules: their requests are not asked this.

    >>> sonnet = default_catalog().resolve("claude-sonnet-4-5")
    >>> refuse_retired(sonnet, today=date(2026, 11, 29))
    >>> refuse_retired(sonnet, today=date(2026, 11, 30))
    Traceback (most recent call last):
    ...
    claude_arch.errors.NotFoundError: model: claude-sonnet-4-5 was retired on 2026-11-30 ...
    """
    if info.retires is not None and info.retired(today):
        raise NotFoundError(
            f"model: {info.id} was retired on {info.retires.isoformat()} and is no longer "
            "available; choose a model the API serves (GET /v1/models lists them)",
            model=info.id,
        )


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-minute limits of one model family: requests, input tokens, output tokens."""

    rpm: int
    itpm: int
    otpm: int


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a client's calls run, for pricing: ``upstream`` serves plain model names, a
    provider-qualified name (``bedrock:…``) goes to its provider, and ``endpoints`` names each
    provider's endpoint kind (``global`` when not named; ``regional`` for a Bedrock geographic
    or in-region profile, a Vertex region or multi-region). The Claude API's ``us`` kind is a
    request's ``inference_geo``, priced per call from the usage the API reports
    (:meth:`Catalog.geo_factor`), not placed here."""

    upstream: str = "anthropic"
    endpoints: Mapping[str, str] = field(default_factory=dict)

    def kind(self, provider: str) -> str:
        return self.endpoints.get(provider, GLOBAL)

    @classmethod
    def of_settings(cls, settings: Any, env: Mapping[str, str] | None = None) -> Placement:
        """The placement a client with these settings has: ``upstream``, and the endpoint kinds
        of ``bedrock_inference_profile`` (``global`` is global, any other profile or none is
        regional) and of ``vertex_region`` (else ``CLOUD_ML_REGION``: ``global`` is global, a
        region or the ``us``/``eu`` multi-regions regional)."""
        env = os.environ if env is None else env
        profile = getattr(settings, "bedrock_inference_profile", GLOBAL) or None
        region = getattr(settings, "vertex_region", None) or env.get("CLOUD_ML_REGION") or GLOBAL
        return cls(
            getattr(settings, "upstream", "anthropic"),
            {"bedrock": endpoint_kind(profile), "vertex": endpoint_kind(region)},
        )


def endpoint_kind(location: str | None) -> str:
    """The endpoint kind of a platform location, Bedrock's inference profile (``global``, ``us``,
    ``eu`` …, None for the in-region ID) or Vertex's region (``global``, ``us``, ``us-east5`` …):
    ``global`` for the global one, else ``regional``.

    >>> endpoint_kind("global"), endpoint_kind("eu"), endpoint_kind(None)
    ('global', 'regional', 'regional')
    """
    return GLOBAL if location == GLOBAL else "regional"


def _field(usage: Mapping[str, Any] | object, name: str) -> int:
    value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
    return int(value or 0)


class Catalog:
    """Model IDs and aliases → :class:`ModelInfo`; costs of usage records.

    ``cache_multipliers`` (``cache_write_5m``, ``cache_write_1h``, ``cache_read`` → a multiple of
    the input price) is what an unpublished cache price is billed at. ``endpoint_factors``
    (provider → endpoint kind → a factor on every price) and ``placement`` (where this catalog's
    calls run, :meth:`placed`) price a call by where it went: every cost, price and worst case
    this catalog gives includes its factor.
    """

    def __init__(
        self,
        models: list[ModelInfo],
        batch_discount: Decimal,
        tiers: Mapping[str, Mapping[str, Limits]] | None = None,
        cache_multipliers: Mapping[str, Decimal] | None = None,
        *,
        endpoint_factors: Mapping[str, Mapping[str, Decimal]] | None = None,
        placement: Placement | None = None,
    ) -> None:
        self._models = models
        self.batch_discount = batch_discount
        self.tiers: dict[str, dict[str, Limits]] = {k: dict(v) for k, v in (tiers or {}).items()}
        self.cache_multipliers: dict[str, Decimal] = dict(cache_multipliers or {})
        self.endpoint_factors: dict[str, dict[str, Decimal]] = {
            provider: dict(kinds) for provider, kinds in (endpoint_factors or {}).items()
        }
        self.placement = placement or Placement()
        if self.placement.upstream not in PROVIDERS:
            raise ConfigError(
                f"upstream {self.placement.upstream!r}: expected one of {', '.join(PROVIDERS)}"
            )
        self._factors = {p: self.endpoint_factor(p, self.placement.kind(p)) for p in PROVIDERS}
        self._by_name: dict[str, ModelInfo] = {}
        self._list_bills: dict[str, _Bill] = {}
        self._bills: dict[str, _Bill] = {}
        for m in models:
            if m.id in self._list_bills:
                raise ConfigError(f"models.toml: model name {m.id!r} is listed twice")
            self._list_bills[m.id] = self._bill_of(m)
            bill = self._placed_bill(m, self.placement.upstream)
            for name in (m.id, *m.aliases):
                if name in self._by_name:
                    raise ConfigError(f"models.toml: model name {name!r} is listed twice")
                self._by_name[name] = m
                self._bills[name] = bill

    def endpoint_factor(self, provider: str, kind: str | None = GLOBAL) -> Decimal:
        """The factor ``[endpoints.<provider>]`` puts on every price at endpoint ``kind``
        (``global``, or no kind: 1 unless listed); ConfigError for a kind not listed."""
        kinds = self.endpoint_factors.get(provider, {})
        kind = kind or GLOBAL
        if kind in kinds:
            return kinds[kind]
        if kind == GLOBAL:
            return Decimal(1)
        known = ", ".join(sorted({GLOBAL, *kinds}))
        raise ConfigError(
            f"models.toml: [endpoints.{provider}] has no {kind!r} endpoint; it lists {known}"
        )

    def placed(self, placement: Placement) -> Catalog:
        """This catalog pricing calls as they run under ``placement`` (itself when it already
        does): plain names at ``placement.upstream``'s endpoint factor, ``bedrock:…`` and
        ``vertex:…`` names at their provider's."""
        same = placement.upstream == self.placement.upstream and all(
            placement.kind(p) == self.placement.kind(p) for p in PROVIDERS
        )
        if same:
            return self
        return Catalog(
            self._models,
            self.batch_discount,
            self.tiers,
            self.cache_multipliers,
            endpoint_factors=self.endpoint_factors,
            placement=placement,
        )

    def where(self, name: str) -> tuple[str, str]:
        """The provider a call to ``name`` goes to and that provider's endpoint kind."""
        info = self.get(name)
        provider = (info.provider if info else None) or self.placement.upstream
        return provider, self.placement.kind(provider)

    def _factor(self, info: ModelInfo, provider: str) -> Decimal:
        return self._factors[provider] if info.regional_premium else Decimal(1)

    def _placed_bill(self, info: ModelInfo, provider: str) -> _Bill:
        bill = self._list_bills[info.id]
        factor = self._factor(info, provider)
        if factor == 1:
            return bill
        rates, tiers = bill

        def scaled(r: _Rates) -> _Rates:
            return (r[0] * factor, r[1] * factor, r[2] * factor, r[3] * factor, r[4] * factor)

        return scaled(rates), tuple((above, scaled(t)) for above, t in tiers)

    def _rates(self, model: str, prices: Prices) -> _Rates:
        filled = self.derived(model, prices)
        return (
            filled.input,
            filled.output,
            filled.cache_write_5m or Decimal(0),
            filled.cache_write_1h or Decimal(0),
            filled.cache_read or Decimal(0),
        )

    def derived(self, model: str, prices: Prices) -> Prices:
        """``prices`` with each unpublished cache price as its multiple of the input price."""
        unknown = prices.unknown
        if not unknown:
            return prices
        missing = [name for name in unknown if name not in self.cache_multipliers]
        if missing:
            raise ConfigError(
                f"models.toml: {model}: {missing[0]} price is unknown and "
                f"cache_multipliers.{missing[0]} is not set to derive it"
            )
        derived = {name: prices.input * self.cache_multipliers[name] for name in unknown}
        return replace(prices, **derived)

    def _bill_of(self, m: ModelInfo) -> _Bill:
        thresholds = [t.above_prompt_tokens for t in m.price_tiers]
        if any(t <= 0 for t in thresholds) or thresholds != sorted(set(thresholds)):
            raise ConfigError(
                f"models.toml: {m.id}: price tiers need positive, increasing above_prompt_tokens"
            )
        tiers = tuple(
            (t.above_prompt_tokens, self._rates(m.id, t.prices)) for t in reversed(m.price_tiers)
        )
        return self._rates(m.id, m.prices), tiers

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalog:
        """Read a catalog file (the packaged ``models.toml`` when no path is given)."""
        if path is None:
            text = resources.files("claude_arch.core").joinpath("models.toml").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        where = path or "models.toml"
        try:
            data = tomllib.loads(text)
            defaults = data.get("defaults", {})
            capabilities = _CapabilityTables(data.get("capabilities", {}))
            models = [
                ModelInfo(
                    id=m["id"],
                    family=m["family"],
                    display_name=m.get("display_name", m["id"]),
                    context_window=int(m.get("context_window", defaults.get("context_window"))),
                    max_output=int(m["max_output"]),
                    prices=_prices(m["prices"], m["id"]),
                    aliases=tuple(m.get("aliases", ())),
                    retires=m.get("retires"),
                    price_tiers=tuple(
                        PriceTier(int(t["above_prompt_tokens"]), _prices(t["prices"], m["id"]))
                        for t in m.get("price_tier", ())
                    ),
                    capabilities=capabilities.of(m),
                    bedrock_id=m.get("bedrock"),
                    vertex_id=m.get("vertex"),
                    bedrock_api=_bedrock_api(m),
                    regional_premium=bool(
                        m.get("regional_premium", defaults.get("regional_premium", True))
                    ),
                    inference_geo=bool(m.get("inference_geo", True)),
                )
                for m in data["model"]
            ]
            capabilities.check_families({m.family for m in models})
            discount = Decimal(str(defaults.get("batch_discount", "0.5")))
            multipliers = {
                name: Decimal(str(value))
                for name, value in defaults.get("cache_multipliers", {}).items()
            }
            tiers = {
                tier: {fam: Limits(**lim) for fam, lim in fams.items()}
                for tier, fams in data.get("tiers", {}).items()
            }
            endpoints = _endpoint_factors(data.get("endpoints", {}))
        except ConfigError as exc:
            raise ConfigError(f"model catalog {where} is malformed: {exc.message}") from exc
        except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError, ArithmeticError) as exc:
            raise ConfigError(f"model catalog {where} is malformed: {exc!r}") from exc
        return cls(models, discount, tiers, multipliers, endpoint_factors=endpoints)

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self._models)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    @property
    def families(self) -> list[str]:
        return sorted({m.family for m in self._models})

    def get(self, name: str) -> ModelInfo | None:
        """The model for an ID or alias (or a provider-qualified one), or None."""
        info = self._by_name.get(name)
        if info is None and ":" in name:
            info = self._qualified(name)
        return info

    def _qualified(self, name: str) -> ModelInfo | None:
        """``bedrock:claude-sonnet-4-5``: the model as that provider serves it (same prices and
        family, ``id`` the qualified name), remembered once made."""
        provider, _, base = name.partition(":")
        info = self._by_name.get(base)
        if provider not in PROVIDERS or info is None or info.provider is not None:
            return None
        qualified = replace(info, id=f"{provider}:{info.id}", aliases=(), provider=provider)
        bill = self._placed_bill(info, provider)
        for key in {name, qualified.id}:
            self._by_name[key] = qualified
            self._bills[key] = bill
        return qualified

    def resolve(self, name: str) -> ModelInfo:
        """The model for an ID or alias, or :class:`UnknownModelError` naming the closest IDs.
        ``provider:model`` (``bedrock:``, ``vertex:``, ``anthropic:``) names the model as that
        provider serves it."""
        info = self.get(name)
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
        """The per-family limits of a usage tier preset (``tier1`` … ``tier4``).

        A family the preset does not name is not limited by it."""
        try:
            return dict(self.tiers[tier])
        except KeyError:
            known = ", ".join(sorted(self.tiers))
            raise ConfigError(
                f"unknown rate-limit tier {tier!r}; expected one of {known}"
            ) from None

    def billed_prices(self, model: str, prompt_tokens: int = 0) -> Prices:
        """The prices :meth:`cost` bills a call with a prompt of ``prompt_tokens`` tokens at:
        the published ones, unpublished cache prices derived from the input price, times the
        endpoint factor of where the call runs (:meth:`where`)."""
        info = self.resolve(model)
        prices = self.derived(info.id, info.prices_for(prompt_tokens))
        factor = self._factor(info, self.where(model)[0])
        if factor == 1:
            return prices

        def times(price: Decimal | None) -> Decimal | None:
            return None if price is None else price * factor

        return Prices(
            input=prices.input * factor,
            output=prices.output * factor,
            cache_write_5m=times(prices.cache_write_5m),
            cache_write_1h=times(prices.cache_write_1h),
            cache_read=times(prices.cache_read),
        )

    def cost(
        self, model: str, usage: Mapping[str, Any] | object, *, batch: bool | None = None
    ) -> Decimal:
        """USD cost of one usage record (a wire ``usage`` dict or an object with the same fields).

        Cache writes are priced by TTL when ``cache_creation`` splits them, else as 5-minute
        writes. A model with price tiers bills at the tier of the prompt's size: input, cache
        write and cache read tokens together. ``batch`` defaults to
        ``usage.service_tier == "batch"``. A usage whose ``inference_geo`` is priced (``"us"``
        on the Claude API: 1.1x) bills at that factor on top.
        """
        bill = self._bills.get(model)
        if bill is None:
            if self.get(model) is None:  # a provider-qualified name is made on first use
                raise UnknownModelError(model, self.suggest(model))
            bill = self._bills[model]
        if isinstance(usage, Usage):  # the clients' own records: every call, read directly
            written = usage.cache_creation_input_tokens
            w1h, w5m = usage.cache_creation_1h, usage.cache_creation_5m
            inputs, outputs = usage.input_tokens, usage.output_tokens
            read = usage.cache_read_input_tokens
            tier = usage.service_tier
            geo = usage.inference_geo
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
            tier, geo = (
                (usage.get("service_tier"), usage.get("inference_geo"))
                if isinstance(usage, Mapping)
                else (getattr(usage, "service_tier", None), getattr(usage, "inference_geo", None))
            )
        if w1h + w5m != written:
            if w1h + w5m > written:  # the split is the fuller account
                written = w1h + w5m
            else:  # writes the split leaves out: 5-minute writes
                w5m = written - w1h
        rates, tiers = bill
        if tiers:
            prompt = inputs + written + read
            for above, tier_rates in tiers:  # highest threshold first
                if prompt > above:
                    rates = tier_rates
                    break
        p_in, p_out, p_w5m, p_w1h, p_read = rates
        total = inputs * p_in + outputs * p_out
        # Decimal arithmetic is dear on a gateway's per-request path: cache terms only if any
        if read:
            total += read * p_read
        if w5m:
            total += w5m * p_w5m
        if w1h:
            total += w1h * p_w1h
        total /= _MTOK
        if batch is None:
            batch = tier == "batch"
        if batch:
            total *= self.batch_discount
        if geo and geo != GLOBAL:
            total *= self.geo_factor(model, geo)
        return total.quantize(_CENT_PRECISION)

    def geo_factor(self, model: str, geo: object) -> Decimal:
        """The factor of an ``inference_geo`` (``[endpoints.anthropic]``) on a call to
        ``model``: on the Claude API only (the platforms place a call by their endpoint and
        ignore it), for models with the regional premium; 1 for a geography not priced."""
        info = self.get(model)
        if not isinstance(geo, str) or info is None or not info.regional_premium:
            return Decimal(1)
        if self.where(model)[0] != "anthropic":
            return Decimal(1)
        return self.endpoint_factors.get("anthropic", {}).get(geo, Decimal(1))


def _bedrock_api(model: Mapping[str, Any]) -> str:
    api = model.get("bedrock_api", "invoke")
    if api not in BEDROCK_APIS:
        raise ConfigError(f"{model['id']}: bedrock_api must be one of {', '.join(BEDROCK_APIS)}")
    if api != "invoke" and not model.get("bedrock"):
        raise ConfigError(f"{model['id']}: bedrock_api {api!r} needs the model's bedrock ID")
    return str(api)


def _endpoint_factors(table: Mapping[str, Any]) -> dict[str, dict[str, Decimal]]:
    """``[endpoints.<provider>]``: endpoint kind → a positive factor on every price."""
    out: dict[str, dict[str, Decimal]] = {}
    for provider, kinds in table.items():
        if provider not in PROVIDERS or not isinstance(kinds, Mapping):
            raise ConfigError(
                f"[endpoints.{provider}]: expected a table for one of {', '.join(PROVIDERS)}"
            )
        out[provider] = {}
        for kind, raw in kinds.items():
            factor = Decimal(str(raw))
            if not factor.is_finite() or factor <= 0:
                raise ConfigError(f"[endpoints.{provider}] {kind} = {raw!r} is not a factor")
            out[provider][kind] = factor
    return out


def _prices(spec: Mapping[str, Any], model: str) -> Prices:
    """Prices from a ``prices = {...}`` table: all five names, ``"unknown"`` for a cache price
    that is not published."""
    names = set(spec)
    if names != set(_PRICE_NAMES):
        missing = sorted(set(_PRICE_NAMES) - names)
        extra = sorted(names - set(_PRICE_NAMES))
        raise ConfigError(
            f"{model}: prices must name {', '.join(_PRICE_NAMES)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
            + f' (an unpublished price is "{UNKNOWN_PRICE}")'
        )

    def price(name: str) -> Decimal:
        raw = spec[name]
        if raw == UNKNOWN_PRICE:
            raise ConfigError(f"{model}: the {name} price must be known")
        value = Decimal(str(raw))
        if not value.is_finite() or value < 0:
            raise ConfigError(f"{model}: {name} price {raw!r} is not a price")
        return value

    def cache_price(name: str) -> Decimal | None:
        return None if spec[name] == UNKNOWN_PRICE else price(name)

    return Prices(
        input=price("input"),
        output=price("output"),
        cache_write_5m=cache_price("cache_write_5m"),
        cache_write_1h=cache_price("cache_write_1h"),
        cache_read=cache_price("cache_read"),
    )


class _CapabilityTables:
    """``[capabilities.default]``, ``[capabilities.<family>]`` and a model's ``capabilities``,
    each overriding the keys it names."""

    def __init__(self, tables: Mapping[str, Any]) -> None:
        self.tables = tables
        self.default = dict(tables.get("default", {}))

    def of(self, model: Mapping[str, Any]) -> Capabilities:
        spec = {
            **self.default,
            **self.tables.get(model["family"], {}),
            **model.get("capabilities", {}),
        }
        return _capabilities(spec, model["id"])

    def check_families(self, families: set[str]) -> None:
        stray = sorted(set(self.tables) - families - {"default"})
        if stray:
            raise ConfigError(f"[capabilities.{stray[0]}] names no family of any model")


def _capabilities(spec: Mapping[str, Any], model: str) -> Capabilities:
    unknown = sorted(set(spec) - set(_CAPABILITY_FLAGS) - set(_CAPABILITY_LISTS))
    if unknown:
        raise ConfigError(f"{model}: unknown capability {unknown[0]!r}")
    flags: dict[str, bool] = {}
    for name in _CAPABILITY_FLAGS:
        flag = spec.get(name, False)
        if not isinstance(flag, bool):
            raise ConfigError(f"{model}: capability {name} must be true or false")
        flags[name] = flag
    lists: dict[str, frozenset[str]] = {}
    for name, known in _CAPABILITY_LISTS.items():
        chosen = spec.get(name, [])
        if not isinstance(chosen, list) or not set(chosen) <= set(known):
            raise ConfigError(f"{model}: capability {name} must list some of {', '.join(known)}")
        lists[name] = frozenset(chosen)
    return Capabilities(
        batch=flags["batch"],
        citations=flags["citations"],
        code_execution=flags["code_execution"],
        image_input=flags["image_input"],
        pdf_input=flags["pdf_input"],
        structured_outputs=flags["structured_outputs"],
        thinking=lists["thinking"],
        effort=lists["effort"],
        server_tools=lists["server_tools"],
        context_management=lists["context_management"],
    )


def model_object(info: ModelInfo) -> dict[str, Any]:
    """A model as ``GET /v1/models`` lists it (the SDK's ``ModelInfo``): its context window as
    ``max_input_tokens``, its maximum output as ``max_tokens``, its capabilities, its family as
    its ``line``, and, for a model with a retirement day, ``lifecycle: "deprecated"`` and
    ``retires_at``."""
    return {
        "type": "model",
        "id": info.id,
        "display_name": info.display_name,
        "created_at": MODELS_RELEASED_AT,
        "lifecycle": "deprecated" if info.retires else "active",
        "retires_at": f"{info.retires.isoformat()}T00:00:00Z" if info.retires else None,
        "line": info.family,
        "max_input_tokens": info.context_window,
        "max_tokens": info.max_output,
        "capabilities": info.capabilities.to_api(),
    }


@functools.cache
def default_catalog() -> Catalog:
    """The packaged catalog, loaded once per process."""
    return Catalog.load()
