"""The Messages API request model: one validator shared by the client, the emulator and the service.

    >>> params = {"model": "claude-haiku-4-5", "max_tokens": 64,
    ...           "messages": [{"role": "user", "content": "Hi"}]}
    >>> validate_create_params(params) == params
    True
    >>> validate_create_params({**params, "max_tokens": "5"})
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: max_tokens: input should be a valid integer (got '5')

The pydantic models are built once at import; a request is checked by pydantic's Rust core and a
few semantic rules (first message role, no empty message but a final assistant one, max_tokens
against the model's limit, thinking budget, tool_choice naming a defined tool). The first problem
is raised as :class:`~claude_arch.errors.InvalidRequestError` whose message starts with the dotted
field path.
The params are returned as given: unknown fields (the API grows) and every ``cache_control`` stay.
A server that answers like the API (the emulator) passes ``refuse_unknown=True`` to refuse a
top-level field outside :mod:`claude_arch.core.validation.fields`' lists, as the API does:

    >>> validate_create_params({**params, "colour": "red"}, refuse_unknown=True)
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: colour: Extra inputs are not permitted

Content-block models live in :mod:`claude_arch.core.validation.schema_blocks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
)

from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.core.validation.fields import first_unknown_field, unknown_field_message
from claude_arch.core.validation.schema_blocks import (
    BLOCK_TYPES,
    MARK,
    UNION_KINDS,
    CacheControl,
    Content,
    RequestModel,
    SystemPrompt,
    by_type,
)
from claude_arch.errors import InvalidRequestError

__all__ = [
    "BLOCK_TYPES",
    "MAX_NESTING",
    "TOOL_NAME_PATTERN",
    "check_nesting",
    "validate_create_params",
]

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,128}$"
MIN_THINKING_BUDGET = 1024
_TYPED_TOOL = re.compile(r"[a-z][a-z0-9_]*_\d{8}")  # fullmatch: "$" would let a final "\n" in


class Message(RequestModel):
    role: Literal["user", "assistant"]
    content: Content


class InputSchema(RequestModel):
    type: Literal["object"]
    properties: dict[str, Any] | None = None
    required: list[StrictStr] | None = None


class CustomTool(RequestModel):
    type: Literal["custom"] | None = None
    name: Annotated[StrictStr, Field(pattern=TOOL_NAME_PATTERN)]
    description: StrictStr | None = None
    input_schema: InputSchema
    cache_control: CacheControl | None = None


class TypedTool(RequestModel):
    """A versioned Anthropic-defined tool (``bash_20250124``, ``web_search_20250305``, …)."""

    type: StrictStr
    name: Annotated[StrictStr, Field(pattern=TOOL_NAME_PATTERN)]
    cache_control: CacheControl | None = None


def _tool_tag(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind is None or kind == "custom":
        return MARK + "custom"
    if isinstance(kind, str) and _TYPED_TOOL.fullmatch(kind):
        return MARK + "typed"
    return MARK + str(kind)


Tool = Annotated[
    Annotated[CustomTool, Tag(MARK + "custom")] | Annotated[TypedTool, Tag(MARK + "typed")],
    Discriminator(_tool_tag),
]


class _ChoiceAuto(RequestModel):
    type: Literal["auto", "any"]
    disable_parallel_tool_use: StrictBool | None = None


class _ChoiceTool(RequestModel):
    type: Literal["tool"]
    name: StrictStr
    disable_parallel_tool_use: StrictBool | None = None


class _ChoiceNone(RequestModel):
    type: Literal["none"]


if TYPE_CHECKING:
    ToolChoice = Any
else:
    ToolChoice = by_type(
        "tool_choice",
        {"auto": _ChoiceAuto, "any": _ChoiceAuto, "tool": _ChoiceTool, "none": _ChoiceNone},
    )


class _ThinkingEnabled(RequestModel):
    type: Literal["enabled"]
    budget_tokens: Annotated[StrictInt, Field(ge=MIN_THINKING_BUDGET)]


class _ThinkingOther(RequestModel):
    type: Literal["adaptive", "disabled", "between_tools"]


if TYPE_CHECKING:
    Thinking = Any
else:
    Thinking = by_type(
        "thinking",
        {
            "enabled": _ThinkingEnabled,
            "adaptive": _ThinkingOther,
            "disabled": _ThinkingOther,
            "between_tools": _ThinkingOther,
        },
    )


class Metadata(RequestModel):
    user_id: Annotated[StrictStr, Field(max_length=256)] | None = None


class CountTokensParams(RequestModel):
    """The body of ``POST /v1/messages/count_tokens``."""

    model: StrictStr
    messages: Annotated[list[Message], Field(min_length=1)]
    system: SystemPrompt | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    cache_control: CacheControl | None = None


class CreateParams(CountTokensParams):
    """The body of ``POST /v1/messages``."""

    max_tokens: Annotated[StrictInt, Field(ge=1)]
    stop_sequences: list[StrictStr] | None = None
    stream: StrictBool | None = None
    metadata: Metadata | None = None
    temperature: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None
    top_p: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None
    top_k: Annotated[StrictInt, Field(ge=0)] | None = None
    service_tier: Literal["auto", "standard_only", "standard", "priority"] | None = None


UNION_KINDS["_tool_tag"] = ("tool", ("custom", "a versioned tool type such as bash_20250124"))


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith(MARK)))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _translate(exc: ValidationError) -> InvalidRequestError:
    err = exc.errors(include_url=False)[0]
    path = _path(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        message = f"{path}: field required"
    elif kind == "union_tag_invalid":
        name, expected = UNION_KINDS.get(
            str(ctx.get("discriminator", "")).rstrip("()"), ("value", ())
        )
        tag = str(ctx.get("tag", "")).removeprefix(MARK)
        path = f"{path}.type"
        message = f"{path}: unknown {name} type {tag!r}; expected one of {', '.join(expected)}"
    elif kind == "union_tag_not_found":
        if str(ctx.get("discriminator", "")).startswith("content_tag"):
            message = f"{path}: expected a string or a list of content blocks"
        else:
            message = f"{path}: expected an object with a string field 'type'"
    elif kind == "literal_error" and path.endswith(".role") and err.get("input") == "system":
        message = (
            f"{path}: unexpected role 'system'; a system prompt goes in the top-level "
            "'system' parameter, not in messages"
        )
    elif kind == "too_short" and path == "messages":
        message = "messages: at least one message is required"
    else:
        text = str(err["msg"])
        message = f"{path}: {text[:1].lower()}{text[1:]} (got {_shown(err.get('input'))})"
    return InvalidRequestError(message, field=path)


_CREATE = CreateParams.model_validate
_COUNT = CountTokensParams.model_validate


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
    try:
        parsed: CountTokensParams = (_COUNT if count_tokens else _CREATE)(body)
    except ValidationError as exc:
        raise _translate(exc) from None
    if refuse_unknown:
        unknown = first_unknown_field(body, count_tokens=count_tokens, betas=betas)
        if unknown is not None:
            raise InvalidRequestError(unknown_field_message(unknown), field=unknown)
    info = (catalog or default_catalog()).resolve(parsed.model)
    if parsed.messages[0].role == "assistant":
        raise InvalidRequestError(
            "messages.0.role: the first message must use the 'user' role", field="messages.0.role"
        )
    last = len(parsed.messages) - 1
    for i, message in enumerate(parsed.messages):
        if not message.content and not (i == last and message.role == "assistant"):
            raise InvalidRequestError(
                f"messages.{i}.content: all messages must have non-empty content except for "
                "the optional final assistant message",
                field=f"messages.{i}.content",
            )
    names = [t.name for t in parsed.tools or ()]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidRequestError(f"tools: tool names must be unique ({dup!r})", field="tools")
    choice = parsed.tool_choice
    if isinstance(choice, _ChoiceTool) and choice.name not in names:
        raise InvalidRequestError(
            f"tool_choice.name: tool {choice.name!r} is not defined in tools",
            field="tool_choice.name",
        )
    if isinstance(parsed, CreateParams):
        if parsed.max_tokens > info.max_output:
            raise InvalidRequestError(
                f"max_tokens: {parsed.max_tokens} > {info.max_output}, which is the maximum "
                f"allowed number of output tokens for {info.id}",
                field="max_tokens",
            )
        thinking = parsed.thinking
        forced = choice is not None and choice.type in ("any", "tool")
        if isinstance(thinking, _ThinkingEnabled) and forced:
            raise InvalidRequestError(
                "tool_choice: thinking may not be enabled when tool_choice forces tool use; "
                "use 'auto' or 'none', or disable thinking",
                field="tool_choice",
            )
        if isinstance(thinking, _ThinkingEnabled) and thinking.budget_tokens >= parsed.max_tokens:
            raise InvalidRequestError(
                "thinking.budget_tokens: must be less than max_tokens "
                f"({thinking.budget_tokens} >= {parsed.max_tokens})",
                field="thinking.budget_tokens",
            )
    return body
