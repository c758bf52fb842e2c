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
optional properties (and minProperties), nested objects, local ``$ref`` (``#/$defs/…``, as pydantic
writes them), arrays with min/max items and uniqueItems, numeric bounds (exclusive ones too) and
multipleOf, string lengths, anyOf/oneOf (first branch) and allOf (merged objects). Unsupported
keywords (``pattern`` among them) are ignored.
"""

from __future__ import annotations

import json
import math
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


def _bound(schema: Mapping[str, Any], key: str) -> float | None:
    value = schema.get(key)
    # Draft-4 schemas spell exclusive bounds as booleans; those are not numbers.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _number(rng: random.Random, schema: Mapping[str, Any], integer: bool) -> int | float:
    low, high = _bound(schema, "minimum"), _bound(schema, "maximum")
    x_low, x_high = _bound(schema, "exclusiveMinimum"), _bound(schema, "exclusiveMaximum")
    low_open = x_low is not None and (low is None or x_low >= low)
    high_open = x_high is not None and (high is None or x_high <= high)
    given_lo = x_low if low_open else low
    given_hi = x_high if high_open else high
    lo = given_lo if given_lo is not None else min(0.0, (given_hi or 0.0) - 100.0)
    hi = given_hi if given_hi is not None else max(lo, 0.0) + 100.0
    step = _bound(schema, "multipleOf")
    if step is not None and step > 0:
        first = math.floor(lo / step) + 1 if low_open else math.ceil(lo / step)
        last = math.ceil(hi / step) - 1 if high_open else math.floor(hi / step)
        value = rng.randint(first, max(first, last)) * step
        return int(value) if integer or value.is_integer() else value
    if integer:
        first = math.floor(lo) + 1 if low_open else math.ceil(lo)
        last = math.ceil(hi) - 1 if high_open else math.floor(hi)
        return rng.randint(first, max(first, last))
    value = round(rng.uniform(lo, hi), 2)
    above = value > lo if low_open else value >= lo
    below = value < hi if high_open else value <= hi
    return value if above and below else (lo + hi) / 2


def _ref(root: Mapping[str, Any], ref: str) -> Any:
    """The local target of ``ref`` (``#/$defs/Place``), or None for anything else."""
    if ref != "#" and not ref.startswith("#/"):
        return None
    target: Any = root
    for raw in ref[2:].split("/") if ref != "#" else ():
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            return None
        target = target[part]
    return target


def _array(rng: random.Random, schema: Mapping[str, Any], root: Any, depth: int) -> list[Any]:
    most = schema.get("maxItems")
    least = int(schema.get("minItems", 1 if most is None or int(most) > 0 else 0))
    count = rng.randint(least, max(least, int(most) if most is not None else max(least, 3)))
    items = schema.get("items", {})
    if not schema.get("uniqueItems"):
        return [_value(rng, items, root, depth + 1) for _ in range(count)]
    values: list[Any] = []
    seen: set[str] = set()
    for _ in range(count * 10):  # an enum may have fewer members than ``count``
        if len(values) == count:
            break
        value = _value(rng, items, root, depth + 1)
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            values.append(value)
    return values


def _merge(parts: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        if isinstance(part, Mapping):
            merged["properties"].update(part.get("properties") or {})
            merged["required"].extend(part.get("required") or [])
    return merged


def _value(rng: random.Random, schema: Any, root: Any, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return rng.choice(_WORDS)
    if isinstance(schema.get("$ref"), str):
        target = _ref(root, schema["$ref"])
        if isinstance(target, Mapping):
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            return _value(rng, {**target, **siblings}, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(rng, options[0], root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        return _value(rng, _merge(schema["allOf"]), root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return _object(rng, schema, root, depth)
    if kind == "array":
        return _array(rng, schema, root, depth)
    if kind == "integer":
        return _number(rng, schema, integer=True)
    if kind == "number":
        return _number(rng, schema, integer=False)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(rng, schema)


def _object(rng: random.Random, schema: Mapping[str, Any], root: Any, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    result: dict[str, Any] = {}
    if not isinstance(properties, Mapping):
        return result
    for name, sub in properties.items():
        if name in required or rng.random() < 0.5:
            result[name] = _value(rng, sub, root, depth + 1)
    for name, sub in properties.items():
        if len(result) >= int(schema.get("minProperties", 0)):
            break
        result.setdefault(name, _value(rng, sub, root, depth + 1))
    for name in required - result.keys():
        result[name] = rng.choice(_WORDS)  # required but not described: any value will do
    return result


def input_for_schema(rng: random.Random, schema: Mapping[str, Any]) -> dict[str, Any]:
    """An input object for a tool whose ``input_schema`` is ``schema``."""
    return _object(rng, schema, schema, 0)
