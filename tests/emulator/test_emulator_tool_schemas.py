"""Generated tool inputs validate against the schemas tools really use (pydantic output, bounds)."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import jsonschema
import pytest
from api_shapes import body
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.emulator.answers.tool_input import input_for_schema

# What pydantic's model_json_schema() gives for a model with a nested model and an enum.
PYDANTIC_STYLE = {
    "$defs": {
        "Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"},
        "Place": {
            "properties": {"city": {"type": "string"}, "unit": {"$ref": "#/$defs/Unit"}},
            "required": ["city", "unit"],
            "title": "Place",
            "type": "object",
        },
    },
    "properties": {
        "place": {"$ref": "#/$defs/Place"},
        "stops": {"items": {"$ref": "#/$defs/Place"}, "type": "array"},
    },
    "required": ["place", "stops"],
    "type": "object",
}


def _one(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"v": schema}, "required": ["v"]}


SCHEMAS = {
    "pydantic_refs": PYDANTIC_STYLE,
    "unique_items": _one({"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True}),
    "negative_maximum": _one({"type": "integer", "maximum": -1}),
    "negative_number_range": _one({"type": "number", "minimum": -9, "maximum": -5}),
    "exclusive_bounds": _one({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.01}),
    "fractional_integer_bound": _one({"type": "integer", "minimum": 0.5, "maximum": 3}),
    "multiple_of": _one({"type": "integer", "minimum": 1, "multipleOf": 5}),
    "empty_array": _one({"type": "array", "maxItems": 0}),
    "min_properties": _one(
        {"type": "object", "minProperties": 1, "properties": {"x": {"type": "string"}}}
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_generated_input_validates(name: str) -> None:
    schema = SCHEMAS[name]
    for seed in range(100):
        jsonschema.validate(input_for_schema(random.Random(seed), schema), schema)


def test_tool_use_with_a_pydantic_schema_over_http(client: httpx.Client) -> None:
    tool = {"name": "plan_trip", "input_schema": PYDANTIC_STYLE}
    request = {**body(), "tools": [tool], "tool_choice": {"type": "tool", "name": "plan_trip"}}
    reply = client.post("/v1/messages", json=request).json()
    (block,) = [b for b in reply["content"] if b["type"] == "tool_use"]
    jsonschema.validate(block["input"], PYDANTIC_STYLE)


HOSTILE = {
    "min_items_not_a_number": {"type": "array", "minItems": "x"},
    "min_length_not_a_number": {"type": "string", "minLength": "x"},
    "enum_not_a_list": {"enum": 5},
    "tiny_multiple_of": {"type": "number", "multipleOf": 1e-300, "maximum": 1e300},
    "infinite_bound": {"type": "integer", "minimum": 1e300, "maximum": "1e400"},
    "nested_required_not_a_list": {"type": "object", "required": 5},
    "all_of_with_odd_parts": {"allOf": [{"properties": 3, "required": "v"}]},
    "huge_min_length": {"type": "string", "minLength": 10**9},
    "huge_nested_arrays": {
        "type": "array",
        "minItems": 1000,
        "items": {"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000}},
    },
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_schemas_get_an_answer_not_a_500(client: httpx.Client, name: str) -> None:
    schema = {"type": "object", "properties": {"v": HOSTILE[name]}, "required": ["v"]}
    tool = {"name": "t", "input_schema": schema}
    request = {**body(max_tokens=60_000), "tools": [tool], "tool_choice": {"type": "any"}}
    # JSON's 1e400 (which Python reads as infinity) cannot be written by json.dumps: splice it in.
    raw = json.dumps(request).replace('"1e400"', "1e400")
    response = client.post("/v1/messages", content=raw)
    assert response.status_code == 200, response.text
    (block,) = [b for b in response.json()["content"] if b["type"] == "tool_use"]
    assert len(json.dumps(block["input"])) < 1_000_000


schema_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "properties",
                    "required",
                    "items",
                    "enum",
                    "const",
                    "minItems",
                    "maxItems",
                    "minLength",
                    "maxLength",
                    "minimum",
                    "maximum",
                    "exclusiveMinimum",
                    "multipleOf",
                    "uniqueItems",
                    "anyOf",
                    "allOf",
                    "$ref",
                    "$defs",
                    "minProperties",
                    "object",
                    "array",
                    "string",
                    "integer",
                    "#/$defs/x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), schema_like, max_size=3))
def test_any_properties_give_an_input_without_raising(properties: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    assert isinstance(input_for_schema(random.Random(0), schema), dict)


# A recursive model (a tree), as pydantic writes it.
TREE = {
    "$defs": {
        "Node": {
            "properties": {
                "name": {"type": "string"},
                "children": {"items": {"$ref": "#/$defs/Node"}, "type": "array"},
            },
            "required": ["name", "children"],
            "type": "object",
        }
    },
    "properties": {"root": {"$ref": "#/$defs/Node"}},
    "required": ["root"],
    "type": "object",
}


def test_recursive_schemas_end_in_valid_leaves() -> None:
    for seed in range(100):
        jsonschema.validate(input_for_schema(random.Random(seed), TREE), TREE)
