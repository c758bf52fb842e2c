"""Check a Messages body at the edge, before anything goes upstream.

    >>> checked = check_body(b'{"model": "claude-haiku-4-5-20251001", "max_tokens": 64, '
    ...                      b'"messages": [{"role": "user", "content": "Hi"}]}', Policy())
    >>> checked.model, checked.stream
    ('claude-haiku-4-5', False)
    >>> check_body(b'{"model": "claude-haiku-4-20250514", "max_tokens": 8, "messages": []}',
    ...            Policy())
    Traceback (most recent call last):
    ...
    claude_arch.edge.problems.EdgeProblem: model: unknown model 'claude-haiku-4-20250514'. Did you \
mean 'claude-haiku-4-5', 'claude-haiku-5-5', 'claude-opus-4-5'?

The checks are the cheap ones that decide whether a call may go out at all: UTF-8, JSON, one
object, nesting, the model (known, allowed), ``max_tokens`` (an integer within the model's
maximum and the edge's cap), ``messages`` (a non-empty list of user/assistant turns), ``stream``.
Everything deeper (content blocks, tools) is the upstream's to judge: its answer reaches the
caller unchanged. The model data comes from :mod:`claude_arch.edge.protocol_data`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.problems import EdgeProblem

__all__ = ["CheckedBody", "Policy", "check_body", "resolve_model", "suggest_models"]

_FAMILIES = sorted({family for family, _, _ in protocol.MODELS.values()})


@dataclass(frozen=True, slots=True)
class Policy:
    """What the edge admits: ``allowed`` model IDs (empty: all), a ``max_tokens`` cap (None: the
    model's own maximum); ``count_tokens`` checks a count_tokens body (no max_tokens, no stream)."""

    allowed: frozenset[str] = frozenset()
    max_tokens: int | None = None
    count_tokens: bool = False


@dataclass(frozen=True, slots=True)
class CheckedBody:
    """A body that passed: the model's catalog ID, whether it streams, the parsed object."""

    model: str
    stream: bool
    params: dict[str, Any]


def suggest_models(name: str, n: int = 3) -> list[str]:
    """The catalog IDs closest to ``name`` (as core's ``Catalog.suggest`` picks them).

    >>> suggest_models("claude-sonet-4-5")
    ['claude-sonnet-4-5', 'claude-sonnet-5-5', 'claude-sonnet-4-6']
    """
    ids = list(protocol.MODELS)
    close = difflib.get_close_matches(name, ids, n=n, cutoff=0.5)
    if not close:
        family = next((f for f in _FAMILIES if f in name), None)
        close = [m for m, spec in protocol.MODELS.items() if spec[0] == family][:n]
    return close


def resolve_model(name: str) -> str:
    """The catalog ID of a model ID or alias; a 404 ``not_found_error`` naming the closest IDs."""
    if name in protocol.MODELS:
        return name
    alias_of = protocol.ALIASES.get(name)
    if alias_of is not None:
        return alias_of
    close = suggest_models(name)
    hint = f" Did you mean {', '.join(repr(s) for s in close)}?" if close else ""
    raise EdgeProblem(404, f"model: unknown model {name!r}.{hint}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(raw: bytes) -> object:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EdgeProblem(
            400, f"body: not valid UTF-8 (byte {exc.start}); send JSON encoded as UTF-8"
        ) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise EdgeProblem(400, _too_deep("body")) from None
    except ValueError as exc:
        raise EdgeProblem(400, f"body: not valid JSON ({exc})") from None


def _too_deep(where: str) -> str:
    return (
        f"{where}: the body nests objects and arrays more than {protocol.MAX_NESTING} levels "
        f"deep; this API accepts at most {protocol.MAX_NESTING}"
    )


def _check_nesting(root: dict[str, Any]) -> None:
    stack: list[tuple[Any, int, str]] = [(root, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > protocol.MAX_NESTING:
            raise EdgeProblem(400, _too_deep(path or "body"))
        items = node.items() if type(node) is dict else enumerate(node)
        for key, value in items:
            if type(value) is dict or type(value) is list:
                stack.append((value, depth + 1, f"{path}.{key}" if path else str(key)))


def _check_messages(messages: object) -> None:
    if not isinstance(messages, list) or not messages:
        raise EdgeProblem(400, "messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise EdgeProblem(400, f"messages.{i}: expected an object")
        if message.get("role") not in ("user", "assistant"):
            raise EdgeProblem(400, f"messages.{i}.role: must be 'user' or 'assistant'")
        if not isinstance(message.get("content"), str | list):
            raise EdgeProblem(400, f"messages.{i}.content: expected a string or a list of blocks")


def _check_max_tokens(value: object, model: str, policy: Policy) -> None:
    if value is None:
        raise EdgeProblem(400, "max_tokens: field required")
    if type(value) is not int or value < 1:
        raise EdgeProblem(400, f"max_tokens: must be a positive integer (got {value!r:.40})")
    most = protocol.MODELS[model][2]
    if value > most:
        raise EdgeProblem(
            400,
            f"max_tokens: {value} > {most}, which is the maximum allowed number of output "
            f"tokens for {model}",
        )
    if policy.max_tokens is not None and value > policy.max_tokens:
        raise EdgeProblem(
            400, f"max_tokens: {value} > {policy.max_tokens}, the most this edge allows"
        )


def check_body(raw: bytes, policy: Policy) -> CheckedBody:
    """Parse and check ``raw``; raise :class:`EdgeProblem` (400, 403 or 404) at the first fault."""
    params = _parse(raw)
    if not isinstance(params, dict):
        raise EdgeProblem(400, "body: expected a JSON object")
    _check_nesting(params)
    name = params.get("model")
    if not isinstance(name, str):
        raise EdgeProblem(400, "model: field required (a model ID such as claude-haiku-4-5)")
    model = resolve_model(name)
    if policy.allowed and model not in policy.allowed and name not in policy.allowed:
        allowed = ", ".join(sorted(policy.allowed))
        raise EdgeProblem(403, f"model: {name!r} is not allowed here; allowed: {allowed}")
    _check_messages(params.get("messages"))
    stream = params.get("stream", False)
    if policy.count_tokens:
        return CheckedBody(model, False, params)
    if not isinstance(stream, bool):
        raise EdgeProblem(400, "stream: must be true or false")
    _check_max_tokens(params.get("max_tokens"), model, policy)
    return CheckedBody(model, stream, params)
