"""Several providers behind one transport: each request goes to the provider its model names.

A fallback chain may name the same model on another provider (``bedrock:claude-sonnet-4-6``
after ``claude-sonnet-4-6``): the catalog resolves the qualified name to the same model (prices,
family, limits) with ``provider`` set, the client's attempt loop treats it as one more model of
the chain (retries, cooldowns, breakers), and this transport sends it to that provider with the
plain model name. Any other request goes to the default provider (``CLAUDE_ARCH_UPSTREAM``).

    transport = ProviderTransport({"anthropic": AiohttpTransport(),
                                   "bedrock": BedrockTransport(region="us-east-1")})
    client = ClaudeClient(transport=transport,
                          fallbacks={"claude-sonnet-4-6": ["bedrock:claude-sonnet-4-6"]})

:func:`upstream_transport` builds it from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from claude_arch.constants import AUTO_MODEL, PROVIDERS
from claude_arch.core.platforms.responses import BufferedResponse
from claude_arch.core.pricing.catalog import Catalog, Placement
from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest
from claude_arch.errors import ClaudeArchError, ConfigError

if TYPE_CHECKING:
    from claude_arch.settings import Settings

__all__ = ["ProviderTransport", "providers_named", "upstream_transport"]

_MARKERS = tuple(f'"{p}:'.encode() for p in PROVIDERS)


def provider_of(model: str) -> str | None:
    """``bedrock`` for ``bedrock:claude-…``; None for a plain model name."""
    provider, sep, _ = model.partition(":")
    return provider if sep and provider in PROVIDERS else None


def providers_named(settings: Settings, fallbacks: Mapping[str, Iterable[str]]) -> set[str]:
    """The providers a client with these settings and fallback chains calls."""
    named: set[str] = {settings.upstream}
    for source, chain in fallbacks.items():
        named.update(p for p in map(provider_of, (source, *chain)) if p is not None)
    return named


class ProviderTransport:
    """An :class:`~claude_arch.core.transports.base.AsyncTransport` over one transport per
    provider; closing it closes them all."""

    def __init__(self, transports: Mapping[str, AsyncTransport], default: str = "anthropic"):
        unknown = sorted(set(transports) - set(PROVIDERS))
        if unknown or default not in transports:
            raise ConfigError(
                f"providers {unknown or [default]}: expected transports for {', '.join(PROVIDERS)}"
                f" with the default among them"
            )
        self.transports = dict(transports)
        self.default = default

    def __repr__(self) -> str:
        return f"ProviderTransport({', '.join(self.transports)}; default {self.default})"

    @property
    def placement(self) -> Placement:
        """Where calls through this transport run, for pricing: the default provider, and each
        platform transport's endpoint kind."""
        kinds: dict[str, str] = {}
        for transport in self.transports.values():
            placed = getattr(transport, "placement", None)
            if isinstance(placed, Placement):
                kinds.update(placed.endpoints)
        return Placement(self.default, kinds)

    def _route(self, request: WireRequest) -> tuple[str, WireRequest]:
        body = request.body
        if not body or not any(marker in body for marker in _MARKERS):
            return self.default, request
        params = json.loads(body)
        model = params.get("model") if isinstance(params, dict) else None
        provider = provider_of(model) if isinstance(model, str) else None
        if provider is None or not isinstance(model, str):
            return self.default, request
        params["model"] = model.partition(":")[2]
        plain = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode()
        return provider, WireRequest(
            request.method,
            request.url,
            request.headers,
            plain,
            request.timeout,
            request.connect_timeout,
        )

    async def send(self, request: WireRequest) -> AsyncResponse:
        provider, request = self._route(request)
        transport = self.transports.get(provider)
        if transport is None:
            message = f"model: no upstream configured for provider {provider!r}"
            body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
            return BufferedResponse(
                400, {"content-type": "application/json"}, json.dumps(body).encode()
            )
        return await transport.send(request)

    async def check(self) -> None:
        """Resolve every platform's credentials now (at start-up): a missing one raises
        :class:`~claude_arch.errors.ConfigError` naming what to set."""
        for transport in self.transports.values():
            check = getattr(transport, "check", None)
            if check is not None:
                await check()

    async def aclose(self) -> None:
        for transport in self.transports.values():
            await transport.aclose()


def upstream_transport(
    settings: Settings,
    fallbacks: Mapping[str, Iterable[str]],
    anthropic: AsyncTransport,
    *,
    catalog: Catalog | None = None,
) -> AsyncTransport:
    """The transport a client with ``settings`` sends through: ``anthropic`` alone when only the
    Anthropic API is used, else a :class:`ProviderTransport` over every provider named (the
    upstream setting and the fallback chains), each built from its settings.

    Every model known to go to a platform (the default model and the plain names of the chains
    on a platform upstream, a chain's ``bedrock:…``/``vertex:…`` names) must have an ID there:
    else :class:`~claude_arch.errors.ConfigError` names the models that have one, now (at
    start-up) rather than on the first request."""
    named = providers_named(settings, fallbacks)
    if named == {"anthropic"}:
        return anthropic
    transports: dict[str, AsyncTransport] = {"anthropic": anthropic}
    if "bedrock" in named:
        from claude_arch.core.platforms.bedrock import BedrockTransport

        transports["bedrock"] = BedrockTransport(
            region=settings.bedrock_region,
            profile=settings.bedrock_profile,
            base_url=settings.bedrock_base_url,
            inference_profile=settings.bedrock_inference_profile or None,
            catalog=catalog,
        )
    if "vertex" in named:
        from claude_arch.core.platforms.vertex import VertexTransport

        token = settings.vertex_access_token
        transports["vertex"] = VertexTransport(
            project=settings.vertex_project,
            region=settings.vertex_region,
            access_token=token.get_secret_value() if token is not None else None,
            base_url=settings.vertex_base_url,
            catalog=catalog,
        )
    _check_served(transports, settings, fallbacks)
    return ProviderTransport(transports, default=settings.upstream)


def _check_served(
    transports: Mapping[str, AsyncTransport],
    settings: Settings,
    fallbacks: Mapping[str, Iterable[str]],
) -> None:
    """ConfigError unless every model known to go to a platform has an ID there."""
    names = {settings.default_model, *fallbacks}
    for chain in fallbacks.values():
        names.update(chain)
    for name in sorted(names):
        provider = provider_of(name) or settings.upstream
        transport = transports.get(provider)
        platform_model = getattr(transport, "platform_model", None)
        if platform_model is None or name == AUTO_MODEL:
            continue
        try:
            platform_model(name.partition(":")[2] if provider_of(name) else name)
        except ClaudeArchError as exc:
            raise ConfigError(
                f"{exc.message} (CLAUDE_ARCH_DEFAULT_MODEL, CLAUDE_ARCH_FALLBACKS)"
            ) from None
