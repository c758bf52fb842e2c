"""Generated tool inputs validate against the schemas tools really use (pydantic output, bounds)."""

from __future__ import annotations

import random
from typing import Any

import httpx
import jsonschema
import pytest
from api_shapes import body

from claude_arch.emulator.tool_input import input_for_schema

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
