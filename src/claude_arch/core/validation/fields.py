"""The top-level body fields the Messages API accepts: one list for the emulator, gateway and docs.

    >>> body = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [], "speed": "fast"}
    >>> first_unknown_field(body) is None
    True
    >>> first_unknown_field({**body, "colour": "red", "size": 1})
    'colour'
    >>> first_unknown_field({**body, "mcp_servers": []})
    'mcp_servers'
    >>> first_unknown_field({**body, "mcp_servers": []}, betas=["mcp-client-2025-11-20"]) is None
    True
    >>> first_unknown_field({"model": "m", "messages": [], "max_tokens": 8}, count_tokens=True)
    'max_tokens'

The API refuses any other top-level field with a 400 ``invalid_request_error`` whose message is
``"<field>: Extra inputs are not permitted"``. The lists follow the official Python SDK 2.16
(``messages.create`` and ``messages.count_tokens`` bodies), plus ``temperature``, ``top_p`` and
``top_k``, which the API still takes although the 2.x SDK sends them only through ``extra_body``:

* :data:`MESSAGES_FIELDS`: ``POST /v1/messages`` (and each batch request's ``params``);
* :data:`COUNT_TOKENS_FIELDS`: ``POST /v1/messages/count_tokens``;
* :data:`BETA_FIELDS`: fields only ``client.beta.messages`` sends, accepted when the request's
  ``anthropic-beta`` header names one of the beta families listed for the field (a family is a
  beta name without its date, so ``mcp-client-2025-04-04`` and ``mcp-client-2025-11-20`` both
  enable ``mcp_servers``); :data:`COUNT_TOKENS_BETA_FIELDS` are those count_tokens takes.

Core's own validation (:func:`claude_arch.core.validation.schema.validate_create_params`) checks
these only when asked: the client and the gateway pass unknown fields upstream and let the
upstream decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from claude_arch.errors import InvalidRequestError

if TYPE_CHECKING:
    from claude_arch.core.pricing.catalog import ModelInfo

__all__ = [
    "BETA_FIELDS",
    "COUNT_TOKENS_BETA_FIELDS",
    "COUNT_TOKENS_FIELDS",
    "MESSAGES_FIELDS",
    "betas_of",
    "first_unknown_field",
    "refuse_inference_geo",
    "unknown_field_message",
]

MESSAGES_FIELDS: frozenset[str] = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "stop_sequences",
        "stream",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "temperature",
        "top_p",
        "top_k",
        "service_tier",
        "cache_control",
        "container",
        "diagnostics",
        "inference_geo",
        "output_config",
        "speed",
    }
)
"""``POST /v1/messages``, without a beta header."""

COUNT_TOKENS_FIELDS: frozenset[str] = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "output_config",
        "speed",
    }
)
"""``POST /v1/messages/count_tokens``, without a beta header (no ``max_tokens``, no ``stream``)."""

BETA_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "billing_policy": ("user-profiles-",),
        "compaction": ("compact-",),
        "context_management": ("context-management-", "compact-"),
        "fallback_credit_token": ("fallback-credit-",),
        "fallbacks": ("server-side-fallback-",),
        "mcp_servers": ("mcp-client-",),
        "output_format": ("structured-outputs-",),
        "thread": ("message-threads-",),
    }
)
"""Beta-only fields of ``POST /v1/messages`` → the beta families (name prefixes) enabling each."""

COUNT_TOKENS_BETA_FIELDS: frozenset[str] = frozenset(
    {"billing_policy", "compaction", "context_management", "mcp_servers"}
)
"""The :data:`BETA_FIELDS` that ``POST /v1/messages/count_tokens`` also takes."""


def betas_of(header: str | None) -> tuple[str, ...]:
    """The beta names of an ``anthropic-beta`` header (a comma-separated list).

    >>> betas_of(" mcp-client-2025-11-20 ,context-management-2025-06-27,")
    ('mcp-client-2025-11-20', 'context-management-2025-06-27')
    """
    return tuple(name.strip() for name in (header or "").split(",") if name.strip())


def _beta_enabled(field: str, betas: Iterable[str], *, count_tokens: bool) -> bool:
    families = BETA_FIELDS.get(field)
    if families is None or (count_tokens and field not in COUNT_TOKENS_BETA_FIELDS):
        return False
    return any(name.startswith(families) for name in betas)


def first_unknown_field(
    body: Mapping[str, Any], *, count_tokens: bool = False, betas: Iterable[str] = ()
) -> str | None:
    """The first top-level field of ``body`` (in its order) the API would refuse, or None.

    ``betas``: the names of the request's ``anthropic-beta`` header (:func:`betas_of`).
    """
    known = COUNT_TOKENS_FIELDS if count_tokens else MESSAGES_FIELDS
    names = tuple(betas)
    for field in body:
        if field not in known and not _beta_enabled(field, names, count_tokens=count_tokens):
            return str(field)
    return None


def unknown_field_message(field: str) -> str:
    """The API's message for a refused top-level field.

    >>> unknown_field_message("colour")
    'colour: Extra inputs are not permitted'
    """
    return f"{field}: Extra inputs are not permitted"


def refuse_inference_geo(params: Mapping[str, Any], model: ModelInfo) -> None:
    """:class:`InvalidRequestError` naming ``inference_geo`` when a request sets it for a model
    the Claude API does not take it for (released before Opus 4.6: ``inference_geo = false`` in
    the catalog), as the API answers with a 400; the platforms place a call by their endpoint
    and are not asked this."""
    if params.get("inference_geo") is not None and not model.inference_geo:
        raise InvalidRequestError(
            f"inference_geo: {model.id} does not support inference_geo; Claude Opus 4.6 and "
            "later models do",
            field="inference_geo",
        )
