"""A plain Messages request as one pydantic-core schema: the fast path of
:func:`~claude_arch.core.validation.schema.validate_create_params`.

A plain request is what a function, a pipeline job or a chat sends most: text only (a string or
text blocks, with ``cache_control`` and ``citations``), a system prompt, sampling and stop
settings, metadata; no ``tools``, ``tool_choice`` or ``thinking`` (absent or null). Its schema is
the request models' own (:mod:`~claude_arch.core.validation.request_models`) with fewer members,
written as a pydantic-core schema, so checking it needs neither pydantic's model machinery nor
the thirty-odd models of every block type (about a third of a Lambda cold start): pydantic-core
builds it in a fraction of a millisecond and checks a body as the models would.

It only ever accepts: a body it accepts, the models accept (the same field schemas, fewer union
members, real lists and dicts where the models also take tuples and mappings); any other body
goes to the models, which accept it or name its first problem, so every answer and every error
message is theirs. ``tests/core/test_plain_schema.py`` checks both: that this schema is the
models' narrowed, and that ``validate_create_params`` answers alike with and without it.

    >>> plain_request_valid({"model": "claude-haiku-4-5", "max_tokens": 64,
    ...                      "messages": [{"role": "user", "content": "Hi"}]})
    True
    >>> plain_request_valid({"model": "claude-haiku-4-5", "max_tokens": 64, "tools": [],
    ...                      "messages": [{"role": "user", "content": "Hi"}]})
    False
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from claude_arch.core.validation.tags import MARK, content_tag, type_tag

if TYPE_CHECKING:
    from pydantic_core import CoreSchema, SchemaValidator

__all__ = ["plain_request_schema", "plain_request_valid"]


def plain_request_valid(body: dict[str, Any]) -> bool:
    """Whether ``body`` is a plain Messages request the request models accept (False: a body
    that is not plain, or not valid; the models decide which)."""
    return _validator().isinstance_python(body)


@functools.cache
def _validator() -> SchemaValidator:
    from pydantic_core import SchemaValidator

    return SchemaValidator(plain_request_schema())


def plain_request_schema() -> CoreSchema:
    """The core schema of a plain ``POST /v1/messages`` body (``CreateParams``, narrowed)."""
    from pydantic_core import core_schema as cs

    def required(schema: CoreSchema) -> Any:
        return cs.model_field(schema)

    def optional(schema: CoreSchema) -> Any:  # ``X | None = None``
        return cs.model_field(cs.with_default_schema(cs.nullable_schema(schema), default=None))

    def model(name: str, **fields: Any) -> CoreSchema:  # a RequestModel: extra fields ignored
        return cs.model_fields_schema(fields, model_name=name, extra_behavior="ignore", strict=True)

    def text_or(blocks: CoreSchema) -> CoreSchema:  # ``Content`` / ``SystemPrompt``
        return cs.tagged_union_schema(
            {MARK + "str": cs.str_schema(strict=True), MARK + "list": blocks}, content_tag
        )

    string = cs.str_schema(strict=True)
    cache_control = model(
        "CacheControl",
        type=required(cs.literal_schema(["ephemeral"])),
        ttl=optional(cs.literal_schema(["5m", "1h"])),
    )
    text_block = model(
        "TextBlock",
        cache_control=optional(cache_control),
        type=required(cs.literal_schema(["text"])),
        text=required(string),
        citations=optional(
            cs.list_schema(cs.dict_schema(cs.str_schema(), cs.any_schema()), strict=True)
        ),
    )
    text_blocks = cs.list_schema(text_block, strict=True)
    message = model(
        "Message",
        role=required(cs.literal_schema(["user", "assistant"])),
        content=required(
            text_or(
                cs.list_schema(
                    cs.tagged_union_schema({MARK + "text": text_block}, type_tag), strict=True
                )
            )
        ),
    )
    absent = cs.model_field(cs.with_default_schema(cs.none_schema(), default=None))
    unit = cs.float_schema(strict=True, ge=0, le=1)
    return model(
        "CreateParams",
        model=required(string),
        messages=required(cs.list_schema(message, min_length=1, strict=True)),
        system=optional(text_or(text_blocks)),
        tools=absent,
        tool_choice=absent,
        thinking=absent,
        cache_control=optional(cache_control),
        max_tokens=required(cs.int_schema(strict=True, ge=1)),
        stop_sequences=optional(cs.list_schema(string, strict=True)),
        stream=optional(cs.bool_schema(strict=True)),
        metadata=optional(
            model("Metadata", user_id=optional(cs.str_schema(strict=True, max_length=256)))
        ),
        temperature=optional(unit),
        top_p=optional(unit),
        top_k=optional(cs.int_schema(strict=True, ge=0)),
        service_tier=optional(cs.literal_schema(["auto", "standard_only", "standard", "priority"])),
    )
