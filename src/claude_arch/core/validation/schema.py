"""The Messages API request validator: one, shared by the client, the emulator and the service.

    >>> params = {"model": "claude-haiku-4-5", "max_tokens": 64,
    ...           "messages": [{"role": "user", "content": "Hi"}]}
    >>> validate_create_params(params) == params
    True
    >>> validate_create_params({**params, "max_tokens": "5"})
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: max_tokens: input should be a valid integer (got '5')

A request is checked by pydantic's Rust core and a few rules between fields (first message role,
no empty message but a final assistant one, max_tokens against the model's limit, thinking
budget, tool_choice naming a defined tool). The first problem is raised as
:class:`~claude_arch.errors.InvalidRequestError` whose message starts with the dotted field path.
The params are returned as given: unknown fields (the API grows) and every ``cache_control`` stay.
A server that answers like the API (the emulator) passes ``refuse_unknown=True`` to refuse a
top-level field outside :mod:`claude_arch.core.validation.fields`' lists, as the API does:

    >>> validate_create_params({**params, "colour": "red"}, refuse_unknown=True)
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: colour: Extra inputs are not permitted

Two schemas, one verdict: a plain request (text only, no tools or thinking) is accepted by the
pydantic-core schema of :mod:`~claude_arch.core.validation.plain_schema`, which is built in a
fraction of a millisecond and needs no pydantic model; every other body, and every invalid one,
is decided by the request models (:mod:`~claude_arch.core.validation.request_models`, on the
blocks of :mod:`~claude_arch.core.validation.schema_blocks`), built on first need, which also
write every error message. Importing this module imports neither; ``CreateParams``,
``CountTokensParams`` and ``BLOCK_TYPES`` are loaded from them when first asked for here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_arch.core.pricing.catalog import Catalog, ModelInfo, default_catalog
from claude_arch.core.validation.fields import first_unknown_field, unknown_field_message
from claude_arch.core.validation.plain_schema import plain_request_valid
from claude_arch.errors import InvalidRequestError

if TYPE_CHECKING:
    from claude_arch.core.validation.request_models import CountTokensParams, CreateParams
    from claude_arch.core.validation.schema_blocks import BLOCK_TYPES

__all__ = [
    "BLOCK_TYPES",
    "MAX_NESTING",
    "TOOL_NAME_PATTERN",
    "CountTokensParams",
    "CreateParams",
    "RequestFacts",
    "check_nesting",
    "validate_create_params",
]

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,128}$"
MIN_THINKING_BUDGET = 1024


def __getattr__(name: str) -> Any:
    # the models are built on first need, not when the client is imported
    if name in ("CreateParams", "CountTokensParams"):
        from claude_arch.core.validation import request_models

        return getattr(request_models, name)
    if name == "BLOCK_TYPES":
        from claude_arch.core.validation.schema_blocks import BLOCK_TYPES

        return BLOCK_TYPES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RequestFacts(NamedTuple):
    """What the rules between fields read of a body its schema accepted."""

    roles: Sequence[str]
    """Each message's role."""
    empty: Sequence[bool]
    """Whether each message's content is empty."""
    tool_names: Sequence[str] = ()
    tool_choice: tuple[str, str | None] | None = None
    """The choice's type and, for ``tool``, the tool it names."""
    thinking_budget: int | None = None
    """``budget_tokens`` when thinking is ``enabled``."""
    max_tokens: int | None = None
    """None for a count_tokens body."""


MAX_NESTING = 128
"""How deeply a request body's objects and arrays may nest (the body itself is level 1). Every
part of a request is walked somewhere (validation, token counting, re-encoding, the upstream's
own parser), so one bound, checked first, keeps each of them from running out of stack."""


def check_nesting(params: Mapping[str, Any], limit: int = MAX_NESTING) -> None:
    """:class:`InvalidRequestError` when ``params`` nests objects or arrays more than ``limit``
    levels deep, naming the path where it does; walks iteratively (no depth exhausts the
    stack), about half a microsecond for a small body.

        >>> check_nesting({"metadata": {"a": [[{"b": 1}]]}}, limit=4)
        Traceback (most recent call last):
        ...
        claude_arch.errors.InvalidRequestError: metadata.a.0.0: the body nests objects and \
arrays more than 4 levels deep; this API accepts at most 4
    """
    root = params if type(params) is dict else dict(params)
    if _deepest(root, limit) <= limit:
        return
    where = _too_deep_at(root, limit)
    raise InvalidRequestError(
        f"{where}: the body nests objects and arrays more than {limit} levels deep; "
        f"this API accepts at most {limit}",
        field=where,
    )


def _deepest(root: dict[str, Any], limit: int) -> int:
    """The nesting depth of ``root``, or the first depth past ``limit`` found."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    pop, push = stack.pop, stack.append
    deepest = 1
    while stack:
        node, depth = pop()
        if depth > deepest:
            deepest = depth
            if depth > limit:
                return depth
        for value in node.values() if type(node) is dict else node:
            kind = type(value)
            if kind is dict or kind is list:
                push((value, depth + 1))
    return deepest


def _too_deep_at(root: dict[str, Any], limit: int) -> str:
    """The path (``metadata.a.0``) of a container nested deeper than ``limit``."""
    stack: list[tuple[Any, int, str]] = [(root, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > limit:
            return path or "body"
        items = node.items() if type(node) is dict else enumerate(node)
        for key, value in items:
            if type(value) in (dict, list):
                stack.append((value, depth + 1, f"{path}.{key}" if path else str(key)))
    return "body"


def validate_create_params(
    params: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    count_tokens: bool = False,
    refuse_unknown: bool = False,
    betas: Iterable[str] = (),
) -> dict[str, Any]:
    """Check a Messages (or, with ``count_tokens=True``, a count_tokens) body; return it as a dict.

    Raises :class:`InvalidRequestError` naming the first bad field, or
    :class:`~claude_arch.errors.UnknownModelError` (404) for a model the catalog does not know.
    Unknown top-level fields pass unless ``refuse_unknown``: then the first one the API would
    refuse (given the ``anthropic-beta`` names in ``betas``) is a 400, after the known fields'
    own checks and before the model lookup and the rules between fields.
    """
    if not isinstance(params, Mapping):
        raise InvalidRequestError("body: expected a JSON object", field="body")
    check_nesting(params)
    body = dict(params)
    if (
        not count_tokens
        and body.get("tools") is None  # the plain schema refuses these: no need to ask it
        and body.get("tool_choice") is None
        and body.get("thinking") is None
        and plain_request_valid(body)
    ):
        messages = body["messages"]  # a list of dicts: the plain schema takes nothing else
        roles = [m["role"] for m in messages]
        empty = [not m["content"] for m in messages]
        facts = RequestFacts(roles, empty, (), None, None, body["max_tokens"])
    else:
        from claude_arch.core.validation.request_models import check_with_models

        facts = check_with_models(body, count_tokens=count_tokens)
    if refuse_unknown:
        unknown = first_unknown_field(body, count_tokens=count_tokens, betas=betas)
        if unknown is not None:
            raise InvalidRequestError(unknown_field_message(unknown), field=unknown)
    info = (catalog or default_catalog()).resolve(body["model"])
    check_between_fields(facts, info)
    return body


def check_between_fields(facts: RequestFacts, info: ModelInfo) -> None:
    """The rules no field's schema states: :class:`InvalidRequestError` naming the field."""
    if facts.roles[0] == "assistant":
        raise InvalidRequestError(
            "messages.0.role: the first message must use the 'user' role", field="messages.0.role"
        )
    last = len(facts.roles) - 1
    for i, (role, empty) in enumerate(zip(facts.roles, facts.empty, strict=True)):
        if empty and not (i == last and role == "assistant"):
            raise InvalidRequestError(
                f"messages.{i}.content: all messages must have non-empty content except for "
                "the optional final assistant message",
                field=f"messages.{i}.content",
            )
    names = facts.tool_names
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidRequestError(f"tools: tool names must be unique ({dup!r})", field="tools")
    choice = facts.tool_choice
    if choice is not None and choice[0] == "tool" and choice[1] not in names:
        raise InvalidRequestError(
            f"tool_choice.name: tool {choice[1]!r} is not defined in tools",
            field="tool_choice.name",
        )
    if facts.max_tokens is None:  # count_tokens
        return
    if facts.max_tokens > info.max_output:
        raise InvalidRequestError(
            f"max_tokens: {facts.max_tokens} > {info.max_output}, which is the maximum "
            f"allowed number of output tokens for {info.id}",
            field="max_tokens",
        )
    budget = facts.thinking_budget
    if budget is not None and choice is not None and choice[0] in ("any", "tool"):
        raise InvalidRequestError(
            "tool_choice: thinking may not be enabled when tool_choice forces tool use; "
            "use 'auto' or 'none', or disable thinking",
            field="tool_choice",
        )
    if budget is not None and budget >= facts.max_tokens:
        raise InvalidRequestError(
            "thinking.budget_tokens: must be less than max_tokens "
            f"({budget} >= {facts.max_tokens})",
            field="thinking.budget_tokens",
        )
