"""The shared request validator: first problem named by its field path, nothing else ever raised."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.validation.schema import BLOCK_TYPES, validate_create_params
from claude_arch.errors import InvalidRequestError, UnknownModelError

BASE: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def user(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def test_valid_request_is_returned_with_unknown_fields_and_cache_control() -> None:
    params = with_(
        future_field={"x": 1},
        system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        cache_control={"type": "ephemeral"},
    )
    assert validate_create_params(params) == params


def test_full_conversation_with_tools_thinking_and_typed_tools_passes() -> None:
    params = with_(
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[
            {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}},
            {"type": "bash_20250124", "name": "bash"},
        ],
        tool_choice={"type": "auto"},
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "user", "content": "consecutive turns are merged by the API"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "sig"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "sunny"}],
                        "is_error": False,
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                ],
            },
        ],
    )
    assert validate_create_params(params) is not params


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        (
            with_(messages=user({"type": "text", "text": "a"}, {"type": "foo"})),
            "messages.0.content.1.type",
            "unknown block type 'foo'; expected one of text",
        ),
        (with_(messages=user({"type": "text"})), "messages.0.content.0.text", "field required"),
        (with_(messages=[{"role": "bot", "content": "x"}]), "messages.0.role", "'user'"),
        (
            with_(messages=[{"role": "assistant", "content": "x"}]),
            "messages.0.role",
            "first message",
        ),
        (with_(messages=[]), "messages", "at least one"),
        (
            with_(messages=[{"role": "user", "content": 3}]),
            "messages.0.content",
            "string or a list",
        ),
        (with_(max_tokens="5"), "max_tokens", "valid integer"),
        (with_(max_tokens=True), "max_tokens", "valid integer"),
        (with_(max_tokens=0), "max_tokens", "greater than or equal to 1"),
        (with_(max_tokens=64001), "max_tokens", "maximum allowed"),
        (
            with_(tools=[{"name": "a b", "input_schema": {"type": "object"}}]),
            "tools.0.name",
            "pattern",
        ),
        (
            with_(tools=[{"name": "a", "input_schema": {"type": "array"}}]),
            "tools.0.input_schema.type",
            "'object'",
        ),
        (with_(tools=[{"name": "a"}]), "tools.0.input_schema", "field required"),
        (with_(tools=[{"type": "nonsense", "name": "a"}]), "tools.0.type", "unknown tool type"),
        (with_(tool_choice={"type": "tool", "name": "zz"}), "tool_choice.name", "not defined"),
        (with_(tool_choice={"type": "sometimes"}), "tool_choice.type", "unknown tool_choice type"),
        (
            with_(thinking={"type": "enabled", "budget_tokens": 10}),
            "thinking.budget_tokens",
            "1024",
        ),
        (
            with_(max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 2000}),
            "thinking.budget_tokens",
            "less than max_tokens",
        ),
        (
            with_(
                max_tokens=4096,
                thinking={"type": "enabled", "budget_tokens": 1024},
                tools=[{"name": "t", "input_schema": {"type": "object"}}],
                tool_choice={"type": "any"},
            ),
            "tool_choice",
            "forces tool use",
        ),
        (with_(temperature=1.5), "temperature", "less than or equal to 1"),
        (with_(stop_sequences="END"), "stop_sequences", "valid list"),
        (with_(system=[{"type": "image"}]), "system.0.type", "'text'"),
        (with_(metadata={"user_id": 5}), "metadata.user_id", "valid string"),
        (
            with_(cache_control={"type": "ephemeral", "ttl": "2h"}),
            "cache_control.ttl",
            "'5m' or '1h'",
        ),
        (
            {"model": "claude-haiku-4-5", "messages": BASE["messages"]},
            "max_tokens",
            "field required",
        ),
    ],
)
def test_first_problem_is_named_by_field(params: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_create_params(params)
    assert type(info.value) is InvalidRequestError
    assert info.value.field == field
    assert info.value.message.startswith(field + ":")
    assert fragment in info.value.message


def test_unknown_model_is_404_with_suggestions() -> None:
    with pytest.raises(UnknownModelError) as info:
        validate_create_params(with_(model="claude-haiku-4-20250514"))
    assert info.value.status == 404
    assert "claude-haiku-4-5" in info.value.suggestions


def test_count_tokens_body_needs_no_max_tokens() -> None:
    body = {"model": "claude-haiku-4-5", "messages": BASE["messages"]}
    assert validate_create_params(body, count_tokens=True) == body


def test_every_block_type_is_listed() -> None:
    assert {"text", "image", "document", "tool_use", "tool_result", "thinking"} <= set(BLOCK_TYPES)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
block_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*BLOCK_TYPES, "foo"])},
    optional={"text": json_values, "source": json_values, "id": json_values, "input": json_values},
)
message_like = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "x"]),
        "content": st.text(max_size=5) | st.lists(block_like, max_size=3) | json_values,
    }
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["claude-haiku-4-5", "nope"]) | json_values,
        "max_tokens": st.integers(-5, 100_000) | json_values,
        "messages": st.lists(message_like, max_size=3) | json_values,
        "system": json_values,
        "tools": json_values,
        "tool_choice": json_values,
        "thinking": json_values,
        "stop_sequences": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, request_like))
def test_arbitrary_json_raises_only_request_errors(body: Any) -> None:
    json.dumps(body)
    problem: InvalidRequestError | None = None
    try:
        validate_create_params(body)
    except InvalidRequestError as exc:
        problem = exc
    assert problem is None or (problem.message and problem.field)
