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
_HARD_DEPTH = 4 * _MAX_DEPTH
# Schemas come from clients: a minLength of 10**9 or arrays nested six deep with minItems 1000
# must not stall the server, so lengths, item counts and the values of one input are capped.
_MAX_LENGTH = 4096
_MAX_ITEMS = 64
_MAX_VALUES = 5000


class _Walk:
    """One generation: the root schema (for ``$ref``) and how many values may still be made."""

    __slots__ = ("left", "root")

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.left = _MAX_VALUES


def _size(schema: Mapping[str, Any], key: str, default: int, cap: int) -> int:
    value = schema.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return default
    return int(max(0, min(value, cap)))


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
    low = _size(schema, "minLength", 0, _MAX_LENGTH)
    high = _size(schema, "maxLength", -1, _MAX_LENGTH)
    words = [text]
    length = len(text)
    while length < low:
        words.append(rng.choice(_WORDS))
        length += 1 + len(words[-1])
    text = " ".join(words)
    return text[:high] if high >= 0 else text


def _bound(schema: Mapping[str, Any], key: str) -> float | None:
    value = schema.get(key)
    # Draft-4 schemas spell exclusive bounds as booleans; those are not numbers.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None  # JSON's 1e400 reads as inf


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
    if step is not None and step > 0 and math.isfinite(hi / step) and math.isfinite(lo / step):
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


def _array(rng: random.Random, schema: Mapping[str, Any], walk: _Walk, depth: int) -> list[Any]:
    most = _size(schema, "maxItems", -1, _MAX_ITEMS)
    if depth > _MAX_DEPTH:  # deep (a recursive schema): only what is required, to end the tree
        count = _size(schema, "minItems", 0, _MAX_ITEMS)
    else:
        least = _size(schema, "minItems", 1 if most != 0 else 0, _MAX_ITEMS)
        count = rng.randint(least, max(least, most if most >= 0 else max(least, 3)))
    items = schema.get("items", {})
    values: list[Any] = []
    seen: set[str] = set()
    for _ in range(count * 10):  # uniqueItems: an enum may have fewer members than ``count``
        if len(values) == count or walk.left <= 0:
            break
        value = _value(rng, items, walk, depth + 1)
        if not schema.get("uniqueItems"):
            values.append(value)
            continue
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            values.append(value)
    return values


def _merge(parts: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        if isinstance(part, Mapping):
            if isinstance(part.get("properties"), Mapping):
                merged["properties"].update(part["properties"])
            if isinstance(part.get("required"), list):
                merged["required"].extend(part["required"])
    return merged


def _value(rng: random.Random, schema: Any, walk: _Walk, depth: int) -> Any:
    walk.left -= 1
    if not isinstance(schema, Mapping) or depth > _HARD_DEPTH or walk.left < 0:
        return rng.choice(_WORDS)
    if isinstance(schema.get("$ref"), str):
        target = _ref(walk.root, schema["$ref"])
        if isinstance(target, Mapping):
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            return _value(rng, {**target, **siblings}, walk, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(rng, options[0], walk, depth + 1)
    if isinstance(schema.get("allOf"), list):
        return _value(rng, _merge(schema["allOf"]), walk, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return _object(rng, schema, walk, depth)
    if kind == "array":
        return _array(rng, schema, walk, depth)
    if kind == "integer":
        return _number(rng, schema, integer=True)
    if kind == "number":
        return _number(rng, schema, integer=False)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(rng, schema)


def _object(
    rng: random.Random, schema: Mapping[str, Any], walk: _Walk, depth: int
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    listed = schema.get("required")
    required = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    result: dict[str, Any] = {}
    if not isinstance(properties, Mapping):
        return result
    for name, sub in properties.items():
        if name in required or (depth <= _MAX_DEPTH and rng.random() < 0.5):
            result[name] = _value(rng, sub, walk, depth + 1)
    for name, sub in properties.items():
        if len(result) >= _size(schema, "minProperties", 0, len(properties)):
            break
        result.setdefault(name, _value(rng, sub, walk, depth + 1))
    for name in required - result.keys():
        result[name] = rng.choice(_WORDS)  # required but not described: any value will do
    return result


def input_for_schema(rng: random.Random, schema: Mapping[str, Any]) -> dict[str, Any]:
    """An input object for a tool whose ``input_schema`` is ``schema``."""
    return _object(rng, schema, _Walk(schema), 0)
