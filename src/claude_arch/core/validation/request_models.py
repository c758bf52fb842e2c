"""The Messages API request as pydantic models: every field, tool, tool choice and thinking
setting, on the content-block models of :mod:`claude_arch.core.validation.schema_blocks`.

:func:`check_with_models` validates a body with them and names its first problem as
:class:`~claude_arch.errors.InvalidRequestError` (the dotted field path first). They are built
when this module is first imported: by
:func:`~claude_arch.core.validation.schema.validate_create_params` at the first body that is not
a plain one (:mod:`claude_arch.core.validation.plain_schema`), and by whoever imports them (the
service's OpenAPI schema).

    >>> check_with_models({"model": "m", "max_tokens": 1, "messages": [
    ...     {"role": "user", "content": [{"type": "image", "source": {"type": "url"}}]}]})
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: messages.0.content.0.source.url: field required
"""

from __future__ import annotations

import re
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

from claude_arch.core.validation.schema import (
    MIN_THINKING_BUDGET,
    TOOL_NAME_PATTERN,
    RequestFacts,
)
from claude_arch.core.validation.schema_blocks import (
    MARK,
    UNION_KINDS,
    CacheControl,
    Content,
    RequestModel,
    SystemPrompt,
    by_type,
)
from claude_arch.errors import InvalidRequestError

__all__ = ["CountTokensParams", "CreateParams", "check_with_models"]

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


def check_with_models(body: dict[str, Any], *, count_tokens: bool = False) -> RequestFacts:
    """Validate ``body`` as a Messages (or count_tokens) body: its first problem is raised as
    :class:`InvalidRequestError` naming the field; else what the rules between fields read of it
    (:func:`~claude_arch.core.validation.schema.check_between_fields`)."""
    try:
        parsed = (_COUNT if count_tokens else _CREATE)(body)
    except ValidationError as exc:
        raise _translate(exc) from None
    choice = parsed.tool_choice
    thinking = parsed.thinking
    messages = parsed.messages
    return RequestFacts(
        [m.role for m in messages],
        [not m.content for m in messages],
        [t.name for t in parsed.tools] if parsed.tools else (),
        None
        if choice is None
        else (choice.type, choice.name if isinstance(choice, _ChoiceTool) else None),
        thinking.budget_tokens if isinstance(thinking, _ThinkingEnabled) else None,
        parsed.max_tokens if isinstance(parsed, CreateParams) else None,
    )
