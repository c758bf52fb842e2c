"""The plain request's fast path decides nothing on its own: it is the request models' schema
narrowed, and ``validate_create_params`` answers every body alike with and without it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.validation import schema
from claude_arch.core.validation.plain_schema import plain_request_schema, plain_request_valid
from claude_arch.core.validation.request_models import CreateParams, check_with_models
from claude_arch.core.validation.schema import BLOCK_TYPES, validate_create_params
from claude_arch.errors import ClaudeArchError

# --- the schema: the models', narrowed ------------------------------------------------------
_IGNORED = {
    "metadata",
    "serialization",
    "ref",
    "cls",
    "config",
    "custom_init",
    "root_model",
    "model_name",
    "computed_fields",
    "post_init",
    "frozen",
    "generic_origin",
}
_SAMPLES = ["x", [], {}, {"type": "text"}, {"type": 3}, {"type": "image"}, None, 3, ("x",)]


def _resolve(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while node["type"] in ("definition-ref", "definitions"):
        if node["type"] == "definitions":
            definitions.update({d["ref"]: d for d in node["definitions"]})
            node = node["schema"]
        else:
            node = definitions[node["schema_ref"]]
    return node


def _same_discriminator(plain: Callable[[Any], Any], full: Callable[[Any], Any]) -> bool:
    return all(plain(v) == full(v) for v in _SAMPLES)


def narrowing_problems(
    plain: dict[str, Any], full: dict[str, Any], definitions: dict[str, Any], path: str = "body"
) -> Iterator[str]:
    """Where ``plain`` could accept what ``full`` refuses (nothing: it is ``full`` narrowed)."""
    full = _resolve(full, definitions)
    if full["type"] == "model":  # for a dict, a model is its fields
        behaviour = full.get("config", {}).get("extra_fields_behavior")
        if plain.get("extra_behavior") != behaviour:
            yield f"{path}: extra fields {plain.get('extra_behavior')} vs {behaviour}"
        full = full["schema"]
    kind = plain["type"]
    if kind == "none" and full["type"] == "nullable":  # only null, where null is allowed
        return
    if kind != full["type"]:
        yield f"{path}: {kind} where the models have {full['type']}"
        return
    if kind == "model-fields":
        if set(plain["fields"]) != set(full["fields"]):
            yield f"{path}: fields {sorted(plain['fields'])} vs {sorted(full['fields'])}"
        for name in plain["fields"].keys() & full["fields"].keys():
            yield from narrowing_problems(
                plain["fields"][name]["schema"],
                full["fields"][name]["schema"],
                definitions,
                f"{path}.{name}",
            )
        return
    if kind == "tagged-union":
        if not plain["choices"].keys() <= full["choices"].keys():
            yield f"{path}: members {sorted(plain['choices'])} not among the models'"
        if not _same_discriminator(plain["discriminator"], full["discriminator"]):
            yield f"{path}: another discriminator"
        for tag in plain["choices"].keys() & full["choices"].keys():
            yield from narrowing_problems(
                plain["choices"][tag], full["choices"][tag], definitions, f"{path}.{tag}"
            )
        return
    children = {k for k in ("schema", "items_schema", "keys_schema", "values_schema") if k in full}
    for key in children:
        yield from narrowing_problems(plain[key], full[key], definitions, f"{path}.{key}")
    own = {k: v for k, v in plain.items() if k not in _IGNORED | children}
    theirs = {k: v for k, v in full.items() if k not in _IGNORED | children}
    if own.pop("strict", False):  # strict where the models are lax: narrower
        theirs.pop("strict", None)
    if own != theirs:
        yield f"{path}: {own} vs {theirs}"


def test_the_plain_schema_is_the_models_schema_narrowed() -> None:
    plain = dict(plain_request_schema())
    assert list(narrowing_problems(plain, dict(CreateParams.__pydantic_core_schema__), {})) == []


def test_the_narrowing_check_sees_a_field_the_plain_schema_would_let_through() -> None:
    plain = dict(plain_request_schema())
    looser = {**plain, "fields": dict(plain["fields"])}
    del looser["fields"]["thinking"]  # ignored as an extra field: any thinking would pass
    problems = list(narrowing_problems(looser, dict(CreateParams.__pydantic_core_schema__), {}))
    assert problems
    assert "fields" in problems[0]


# --- the answers: alike with and without the fast path --------------------------------------
PLAIN = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}


@pytest.mark.parametrize(
    "body",
    [
        PLAIN,
        {**PLAIN, "system": "Be brief.", "temperature": 0.2, "metadata": {"user_id": "u"}},
        {
            **PLAIN,
            "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a", "citations": []}]},
                {"role": "assistant", "content": ""},
            ],
            "stop_sequences": ["END"],
            "stream": True,
            "top_k": 5,
            "top_p": 1,
            "service_tier": "auto",
            "tools": None,
            "future_field": {"x": 1},
        },
    ],
)
def test_plain_requests_take_the_fast_path(body: dict[str, Any]) -> None:
    assert plain_request_valid(dict(body))
    check_with_models(dict(body))  # which the models accept too


@pytest.mark.parametrize(
    "body",
    [
        {**PLAIN, "tools": [{"name": "t", "input_schema": {"type": "object"}}]},
        {**PLAIN, "thinking": {"type": "disabled"}},
        {**PLAIN, "tool_choice": {"type": "auto"}},
        {**PLAIN, "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
        {**PLAIN, "messages": ({"role": "user", "content": "Hi"},)},  # a tuple: the models'
        {**PLAIN, "messages": [MappingProxyType({"role": "user", "content": "Hi"})]},
        {**PLAIN, "max_tokens": "5"},
        {**PLAIN, "messages": []},
    ],
)
def test_other_bodies_go_to_the_models(body: dict[str, Any]) -> None:
    assert not plain_request_valid(dict(body))


def outcome(body: Any, **options: Any) -> tuple[Any, ...]:
    """What ``validate_create_params`` answers: the body, or the error as a client sees it."""
    try:
        return ("ok", validate_create_params(body, **options))
    except ClaudeArchError as exc:
        return (type(exc).__name__, exc.status, exc.message, getattr(exc, "field", None))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70_000) | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def odd(value: Any) -> Any:
    """The same value in another container: a tuple for a list, a read-only mapping for a dict
    (the models take both from Python callers; the plain schema leaves them to the models)."""
    if isinstance(value, list):
        return tuple(value)
    return MappingProxyType(value) if isinstance(value, dict) else value


# Plain bodies whose fields each have the right shape (the rules between fields, the model's
# name and its max_tokens limit may still refuse them) ...
cache_control = st.fixed_dictionaries(
    {"type": st.just("ephemeral")}, optional={"ttl": st.sampled_from(["5m", "1h", None])}
)
text_block = st.fixed_dictionaries(
    {"type": st.just("text"), "text": st.text(max_size=5)},
    optional={
        "cache_control": cache_control | st.none(),
        "citations": st.lists(st.dictionaries(st.text(max_size=3), json_values), max_size=2)
        | st.none(),
        "extra": json_values,
    },
)
content = (
    st.text(min_size=1, max_size=5) | st.lists(text_block, min_size=1, max_size=3) | st.just("")
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "user", "user", "assistant"]), "content": content},
    optional={"extra": json_values},
)
unit = st.floats(0, 1) | st.integers(0, 1) | st.none()
plain_body = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["claude-haiku-4-5", "claude-opus-5-5", "claude-sonnet-4-6"]),
        "max_tokens": st.integers(1, 70_000),
        "messages": st.lists(message, min_size=1, max_size=3),
    },
    optional={
        "system": st.text(max_size=4) | st.lists(text_block, max_size=2) | st.none(),
        "temperature": unit,
        "top_p": unit,
        "top_k": st.integers(0, 5) | st.none(),
        "stop_sequences": st.lists(st.text(max_size=3), max_size=2) | st.none(),
        "stream": st.booleans() | st.none(),
        "metadata": st.fixed_dictionaries(
            {}, optional={"user_id": st.text(min_size=250, max_size=260) | st.none()}
        )
        | st.none(),
        "service_tier": st.sampled_from(["auto", "standard_only", "standard", "priority"]),
        "cache_control": cache_control | st.none(),
        "tools": st.none(),
        "tool_choice": st.none(),
        "thinking": st.none(),
        "colour": json_values,
    },
)

# ... and the same with one thing wrong, or not plain: a field any JSON value (or a value just
# past a bound), a container of another type, a block of another type, a message or a block
# with a field gone wrong.
wrong_value = json_values | st.sampled_from(
    [-1, 0, 1.5, float("nan"), True, "5", "x" * 257, "system", "txt", "2h", "fast", "nope"]
)
other_block = st.fixed_dictionaries(
    {"type": st.sampled_from([*BLOCK_TYPES, "nope"])},
    optional={"source": json_values, "text": json_values, "id": json_values},
)


@st.composite
def one_thing_wrong(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(plain_body)
    where = draw(st.sampled_from(["field", "container", "message", "block", "tool"]))
    messages = body["messages"]
    i = draw(st.integers(0, len(messages) - 1))
    if where == "field":
        name = draw(st.sampled_from([*body, "tools", "tool_choice", "thinking", "metadata"]))
        body[name] = draw(wrong_value)
    elif where == "container":
        name = draw(st.sampled_from(list(body)))
        body[name] = odd(body[name])
    elif where == "message":
        key = draw(st.sampled_from(["role", "content", "shape"]))
        if key == "shape":
            messages[i] = odd(messages[i])
        else:
            messages[i][key] = draw(wrong_value | st.just(odd(messages[i][key])))
    elif where == "block":
        blocks = messages[i]["content"] = draw(st.lists(text_block, min_size=1, max_size=2))
        j = draw(st.integers(0, len(blocks) - 1))
        kind = draw(st.sampled_from(["other", "shape", "type", "text", "cache_control"]))
        if kind == "other":
            blocks[j] = draw(other_block)
        elif kind == "shape":
            blocks[j] = odd(blocks[j])
        else:
            blocks[j][kind] = draw(wrong_value | cache_control)
    else:
        body["tools"] = [{"name": "t", "input_schema": {"type": "object"}}]
        body["tool_choice"] = draw(st.sampled_from([{"type": "tool", "name": "t"}, None]))
    return body


def models_only(body: Any, **options: Any) -> tuple[Any, ...]:
    """``outcome`` with the fast path switched off: every body goes to the models."""
    with mock.patch.object(schema, "plain_request_valid", return_value=False):
        return outcome(body, **options)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=plain_body | one_thing_wrong(), refuse_unknown=st.booleans())
def test_the_fast_path_answers_as_the_models_do(body: dict[str, Any], refuse_unknown: bool) -> None:
    fast = outcome(body, refuse_unknown=refuse_unknown)
    assert fast == models_only(body, refuse_unknown=refuse_unknown)
    if plain_request_valid(dict(body)):
        check_with_models(dict(body))  # accepted by the plain schema: accepted by the models
