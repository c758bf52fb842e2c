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
few semantic rules (first message role, max_tokens against the model's limit, thinking budget,
tool_choice naming a defined tool). The first problem is raised as
:class:`~claude_arch.errors.InvalidRequestError` whose message starts with the dotted field path.
The params are returned as given: unknown fields (the API grows) and every ``cache_control`` stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
)

from claude_arch.core.catalog import Catalog, default_catalog
from claude_arch.errors import InvalidRequestError

__all__ = ["BLOCK_TYPES", "TOOL_NAME_PATTERN", "validate_create_params"]

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,128}$"
MIN_THINKING_BUDGET = 1024
# Tags of our tagged unions carry this marker so they can be dropped from error paths.
_MARK = "§"

_PASS_THROUGH_RESULTS = (
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
)
_TYPED_TOOL = re.compile(r"^[a-z][a-z0-9_]*_\d{8}$")


# union name -> (what the error calls its members, the tags it accepts)
_UNION_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {}


def _by_type(what: str, members: Mapping[str, type[BaseModel]]) -> Any:
    """A union tagged by the ``type`` field whose errors name the field path, not the tag."""

    def discriminate(value: Any) -> str | None:
        if isinstance(value, dict):
            kind = value.get("type")
            return _MARK + kind if isinstance(kind, str) else None
        return None

    name = f"type_of_{what.replace(' ', '_')}"
    discriminate.__name__ = name
    _UNION_KINDS[name] = (what, tuple(members))
    tagged: Any = None
    for kind, model in members.items():
        member = Annotated[model, Tag(_MARK + kind)]  # type: ignore[valid-type]
        tagged = member if tagged is None else tagged | member
    return Annotated[tagged, Discriminator(discriminate)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CacheControl(_Model):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class _Block(_Model):
    cache_control: CacheControl | None = None


class TextBlock(_Block):
    type: Literal["text"]
    text: StrictStr
    citations: list[dict[str, Any]] | None = None


class _Base64Image(_Model):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: StrictStr


class _UrlSource(_Model):
    type: Literal["url"]
    url: StrictStr


class _FileSource(_Model):
    type: Literal["file"]
    file_id: StrictStr


if TYPE_CHECKING:
    ImageSource = Any
else:
    ImageSource = _by_type(
        "image source", {"base64": _Base64Image, "url": _UrlSource, "file": _FileSource}
    )


class ImageBlock(_Block):
    type: Literal["image"]
    source: ImageSource


class _Base64Pdf(_Model):
    type: Literal["base64"]
    media_type: Literal["application/pdf"]
    data: StrictStr


class _PlainText(_Model):
    type: Literal["text"]
    media_type: Literal["text/plain"]
    data: StrictStr


class _ContentSource(_Model):
    type: Literal["content"]
    content: StrictStr | list[dict[str, Any]]


if TYPE_CHECKING:
    DocumentSource = Any
else:
    DocumentSource = _by_type(
        "document source",
        {
            "base64": _Base64Pdf,
            "text": _PlainText,
            "content": _ContentSource,
            "url": _UrlSource,
            "file": _FileSource,
        },
    )


class DocumentBlock(_Block):
    type: Literal["document"]
    source: DocumentSource
    title: StrictStr | None = None
    context: StrictStr | None = None


class SearchResultBlock(_Block):
    type: Literal["search_result"]
    source: StrictStr
    title: StrictStr
    content: list[TextBlock]


class ThinkingBlock(_Model):
    type: Literal["thinking"]
    thinking: StrictStr
    signature: StrictStr


class RedactedThinkingBlock(_Model):
    type: Literal["redacted_thinking"]
    data: StrictStr


class ToolUseBlock(_Block):
    type: Literal["tool_use", "server_tool_use"]
    id: StrictStr
    name: StrictStr
    input: dict[str, Any]


def _content_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return _MARK + "str"
    return _MARK + "list" if isinstance(value, list) else None


if TYPE_CHECKING:
    _ResultPart = Any
else:
    _ResultPart = _by_type(
        "tool result block",
        {
            "text": TextBlock,
            "image": ImageBlock,
            "document": DocumentBlock,
            "search_result": SearchResultBlock,
        },
    )


class ToolResultBlock(_Block):
    type: Literal["tool_result"]
    tool_use_id: StrictStr
    content: (
        Annotated[
            Annotated[StrictStr, Tag(_MARK + "str")]
            | Annotated[list[_ResultPart], Tag(_MARK + "list")],
            Discriminator(_content_tag),
        ]
        | None
    ) = None
    is_error: StrictBool | None = None


class ServerToolResultBlock(_Block):
    """Results of Anthropic-run tools: passed back as received, only their link is checked."""

    type: StrictStr
    tool_use_id: StrictStr


class ContainerUploadBlock(_Block):
    type: Literal["container_upload"]
    file_id: StrictStr


if TYPE_CHECKING:
    ContentBlock = Any
else:
    ContentBlock = _by_type(
        "block",
        {
            "text": TextBlock,
            "image": ImageBlock,
            "document": DocumentBlock,
            "search_result": SearchResultBlock,
            "tool_use": ToolUseBlock,
            "server_tool_use": ToolUseBlock,
            "tool_result": ToolResultBlock,
            "thinking": ThinkingBlock,
            "redacted_thinking": RedactedThinkingBlock,
            **dict.fromkeys(_PASS_THROUGH_RESULTS, ServerToolResultBlock),
            "container_upload": ContainerUploadBlock,
        },
    )
BLOCK_TYPES: tuple[str, ...] = _UNION_KINDS["type_of_block"][1]

Content = Annotated[
    Annotated[StrictStr, Tag(_MARK + "str")] | Annotated[list[ContentBlock], Tag(_MARK + "list")],
    Discriminator(_content_tag),
]
SystemPrompt = Annotated[
    Annotated[StrictStr, Tag(_MARK + "str")] | Annotated[list[TextBlock], Tag(_MARK + "list")],
    Discriminator(_content_tag),
]


class Message(_Model):
    role: Literal["user", "assistant", "system"]
    content: Content


class InputSchema(_Model):
    type: Literal["object"]
    properties: dict[str, Any] | None = None
    required: list[StrictStr] | None = None


class CustomTool(_Model):
    type: Literal["custom"] | None = None
    name: Annotated[StrictStr, Field(pattern=TOOL_NAME_PATTERN)]
    description: StrictStr | None = None
    input_schema: InputSchema
    cache_control: CacheControl | None = None


class TypedTool(_Model):
    """A versioned Anthropic-defined tool (``bash_20250124``, ``web_search_20250305``, …)."""

    type: StrictStr
    name: Annotated[StrictStr, Field(pattern=TOOL_NAME_PATTERN)]
    cache_control: CacheControl | None = None


def _tool_tag(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind is None or kind == "custom":
        return _MARK + "custom"
    if isinstance(kind, str) and _TYPED_TOOL.match(kind):
        return _MARK + "typed"
    return _MARK + str(kind)


Tool = Annotated[
    Annotated[CustomTool, Tag(_MARK + "custom")] | Annotated[TypedTool, Tag(_MARK + "typed")],
    Discriminator(_tool_tag),
]


class _ChoiceAuto(_Model):
    type: Literal["auto", "any"]
    disable_parallel_tool_use: StrictBool | None = None


class _ChoiceTool(_Model):
    type: Literal["tool"]
    name: StrictStr
    disable_parallel_tool_use: StrictBool | None = None


class _ChoiceNone(_Model):
    type: Literal["none"]


if TYPE_CHECKING:
    ToolChoice = Any
else:
    ToolChoice = _by_type(
        "tool_choice",
        {"auto": _ChoiceAuto, "any": _ChoiceAuto, "tool": _ChoiceTool, "none": _ChoiceNone},
    )


class _ThinkingEnabled(_Model):
    type: Literal["enabled"]
    budget_tokens: Annotated[StrictInt, Field(ge=MIN_THINKING_BUDGET)]


class _ThinkingOther(_Model):
    type: Literal["adaptive", "disabled", "between_tools"]


if TYPE_CHECKING:
    Thinking = Any
else:
    Thinking = _by_type(
        "thinking",
        {
            "enabled": _ThinkingEnabled,
            "adaptive": _ThinkingOther,
            "disabled": _ThinkingOther,
            "between_tools": _ThinkingOther,
        },
    )


class Metadata(_Model):
    user_id: Annotated[StrictStr, Field(max_length=256)] | None = None


class CountTokensParams(_Model):
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


_UNION_KINDS["_tool_tag"] = ("tool", ("custom", "a versioned tool type such as bash_20250124"))


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith(_MARK)))


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
        name, expected = _UNION_KINDS.get(
            str(ctx.get("discriminator", "")).rstrip("()"), ("value", ())
        )
        tag = str(ctx.get("tag", "")).removeprefix(_MARK)
        path = f"{path}.type"
        message = f"{path}: unknown {name} type {tag!r}; expected one of {', '.join(expected)}"
    elif kind == "union_tag_not_found":
        if str(ctx.get("discriminator", "")).startswith("_content_tag"):
            message = f"{path}: expected a string or a list of content blocks"
        else:
            message = f"{path}: expected an object with a string field 'type'"
    elif kind == "too_short" and path == "messages":
        message = "messages: at least one message is required"
    else:
        text = str(err["msg"])
        message = f"{path}: {text[:1].lower()}{text[1:]} (got {_shown(err.get('input'))})"
    return InvalidRequestError(message, field=path)


_CREATE = CreateParams.model_validate
_COUNT = CountTokensParams.model_validate


def validate_create_params(
    params: Mapping[str, Any], *, catalog: Catalog | None = None, count_tokens: bool = False
) -> dict[str, Any]:
    """Check a Messages (or, with ``count_tokens=True``, a count_tokens) body; return it as a dict.

    Raises :class:`InvalidRequestError` naming the first bad field, or
    :class:`~claude_arch.errors.UnknownModelError` (404) for a model the catalog does not know.
    """
    if not isinstance(params, Mapping):
        raise InvalidRequestError("body: expected a JSON object", field="body")
    body = dict(params)
    try:
        parsed: CountTokensParams = (_COUNT if count_tokens else _CREATE)(body)
    except ValidationError as exc:
        raise _translate(exc) from None
    info = (catalog or default_catalog()).resolve(parsed.model)
    if parsed.messages[0].role == "assistant":
        raise InvalidRequestError(
            "messages.0.role: the first message must use the 'user' role", field="messages.0.role"
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
        if isinstance(thinking, _ThinkingEnabled) and thinking.budget_tokens >= parsed.max_tokens:
            raise InvalidRequestError(
                "thinking.budget_tokens: must be less than max_tokens "
                f"({thinking.budget_tokens} >= {parsed.max_tokens})",
                field="thinking.budget_tokens",
            )
    return body
