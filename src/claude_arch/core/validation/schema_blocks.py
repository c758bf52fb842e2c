"""Content blocks of the Messages API request, as pydantic models (used by
:mod:`claude_arch.core.validation.request_models`).

    >>> BLOCK_TYPES[:3]
    ('text', 'image', 'document')

Tagged unions are built with :func:`by_type`: their tags carry :data:`MARK` so that an error path
reads ``messages.0.content.1.text`` rather than naming the union member, and
:data:`UNION_KINDS` lets the error translator say which types a union accepts. The tagging
functions are in :mod:`claude_arch.core.validation.tags`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, StrictBool, StrictStr, Tag

from claude_arch.core.validation.tags import MARK, content_tag, type_tag

__all__ = [
    "BLOCK_TYPES",
    "MARK",
    "UNION_KINDS",
    "CacheControl",
    "Content",
    "RequestModel",
    "SystemPrompt",
    "by_type",
    "content_tag",
]

_PASS_THROUGH_RESULTS = (
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
)


# union name -> (what the error calls its members, the tags it accepts)
UNION_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {}


def by_type(what: str, members: Mapping[str, type[BaseModel]]) -> Any:
    """A union tagged by the ``type`` field whose errors name the field path, not the tag."""

    def discriminate(value: Any) -> str | None:  # a function per union: errors name it
        return type_tag(value)

    name = f"type_of_{what.replace(' ', '_')}"
    discriminate.__name__ = name
    UNION_KINDS[name] = (what, tuple(members))
    tagged: Any = None
    for kind, model in members.items():
        member = Annotated[model, Tag(MARK + kind)]  # type: ignore[valid-type]
        tagged = member if tagged is None else tagged | member
    return Annotated[tagged, Discriminator(discriminate)]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CacheControl(RequestModel):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class _Block(RequestModel):
    cache_control: CacheControl | None = None


class TextBlock(_Block):
    type: Literal["text"]
    text: StrictStr
    citations: list[dict[str, Any]] | None = None


class _Base64Image(RequestModel):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: StrictStr


class _UrlSource(RequestModel):
    type: Literal["url"]
    url: StrictStr


class _FileSource(RequestModel):
    type: Literal["file"]
    file_id: StrictStr


if TYPE_CHECKING:
    ImageSource = Any
else:
    ImageSource = by_type(
        "image source", {"base64": _Base64Image, "url": _UrlSource, "file": _FileSource}
    )


class ImageBlock(_Block):
    type: Literal["image"]
    source: ImageSource


class _Base64Pdf(RequestModel):
    type: Literal["base64"]
    media_type: Literal["application/pdf"]
    data: StrictStr


class _PlainText(RequestModel):
    type: Literal["text"]
    media_type: Literal["text/plain"]
    data: StrictStr


class _ContentSource(RequestModel):
    type: Literal["content"]
    content: StrictStr | list[dict[str, Any]]


if TYPE_CHECKING:
    DocumentSource = Any
else:
    DocumentSource = by_type(
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


class ThinkingBlock(RequestModel):
    type: Literal["thinking"]
    thinking: StrictStr
    signature: StrictStr


class RedactedThinkingBlock(RequestModel):
    type: Literal["redacted_thinking"]
    data: StrictStr


class ToolUseBlock(_Block):
    type: Literal["tool_use", "server_tool_use"]
    id: StrictStr
    name: StrictStr
    input: dict[str, Any]


if TYPE_CHECKING:
    _ResultPart = Any
else:
    _ResultPart = by_type(
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
            Annotated[StrictStr, Tag(MARK + "str")]
            | Annotated[list[_ResultPart], Tag(MARK + "list")],
            Discriminator(content_tag),
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
    ContentBlock = by_type(
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
BLOCK_TYPES: tuple[str, ...] = UNION_KINDS["type_of_block"][1]

Content = Annotated[
    Annotated[StrictStr, Tag(MARK + "str")] | Annotated[list[ContentBlock], Tag(MARK + "list")],
    Discriminator(content_tag),
]
SystemPrompt = Annotated[
    Annotated[StrictStr, Tag(MARK + "str")] | Annotated[list[TextBlock], Tag(MARK + "list")],
    Discriminator(content_tag),
]
