"""Tool inputs generated from a tool's JSON Schema, so a ``tool_use`` block validates against it.

    >>> import random
    >>> schema = {"type": "object", "required": ["city", "days"],
    ...           "properties": {"city": {"type": "string"},
    ...                          "days": {"type": "integer", "minimum": 1, "maximum": 7},
    ...                          "unit": {"enum": ["c", "f"]}}}
    >>> value = input_for_schema(random.Random(1), schema)
    >>> {"city", "days"} <= set(value) and 1 <= value["days"] <= 7
    True

Covers what tool schemas use in practice: types (and type lists), enum/const, required and
optional properties, nested objects and arrays with min/max items, numeric and length bounds,
anyOf/oneOf (first branch) and allOf (merged objects). Unsupported keywords are ignored.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

__all__ = ["input_for_schema"]

_WORDS = ("paris", "alpha", "report", "blue", "north", "quarterly", "sample", "delta", "omega")
_MAX_DEPTH = 6


def _string(rng: random.Random, schema: Mapping[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if fmt == "date-time":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
    if fmt == "email":
        return f"{rng.choice(_WORDS)}@example.com"
    if fmt in ("uri", "url"):
        return f"https://example.com/{rng.choice(_WORDS)}"
    if fmt == "uuid":
        return f"{rng.getrandbits(32):08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
    text = rng.choice(_WORDS)
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    while len(text) < low:
        text += " " + rng.choice(_WORDS)
    if high is not None:
        text = text[: int(high)]
    return text


def _number(rng: random.Random, schema: Mapping[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    high = schema.get("maximum", schema.get("exclusiveMaximum", max(low, 0) + 100))
    if integer:
        lo = int(low) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        hi = int(high) - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
        return rng.randint(lo, max(lo, hi))
    return round(rng.uniform(float(low), float(high)), 2)


def _merge(parts: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        if isinstance(part, Mapping):
            merged["properties"].update(part.get("properties") or {})
            merged["required"].extend(part.get("required") or [])
    return merged


def _value(rng: random.Random, schema: Any, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return rng.choice(_WORDS)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(rng, options[0], depth + 1)
    if isinstance(schema.get("allOf"), list):
        return _value(rng, _merge(schema["allOf"]), depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return _object(rng, schema, depth)
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 3)))
        count = rng.randint(low, max(low, high))
        return [_value(rng, schema.get("items", {}), depth + 1) for _ in range(count)]
    if kind == "integer":
        return _number(rng, schema, integer=True)
    if kind == "number":
        return _number(rng, schema, integer=False)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(rng, schema)


def _object(rng: random.Random, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    result: dict[str, Any] = {}
    if not isinstance(properties, Mapping):
        return result
    for name, sub in properties.items():
        if name in required or rng.random() < 0.5:
            result[name] = _value(rng, sub, depth + 1)
    for name in required - result.keys():
        result[name] = rng.choice(_WORDS)  # required but not described: any value will do
    return result


def input_for_schema(rng: random.Random, schema: Mapping[str, Any]) -> dict[str, Any]:
    """An input object for a tool whose ``input_schema`` is ``schema``."""
    return _object(rng, schema, 0)
