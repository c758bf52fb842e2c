"""Read YAML keeping the line of every mapping, key and list item, so errors can name it.

>>> doc = parse_yaml("tiers:\\n  fast:\\n    models: [a]\\n", "p.yaml")
>>> doc.line_of("tiers"), doc["tiers"].line_of("fast")
(1, 2)
"""

from __future__ import annotations

from typing import Any

from claude_arch.core.routing.errors import PolicyError

__all__ = ["LineDict", "LineList", "parse_yaml"]

_INSTALL_HINT = "pip install 'claude-arch[route]'"


class LineDict(dict[str, Any]):
    """A YAML mapping that knows the 1-based line of itself and of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        """The line of ``key``, or of the mapping when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence that knows the 1-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int] = []  # noqa: RUF012 - replaced per instance by parse_yaml

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def parse_yaml(text: str, path: str) -> Any:
    """Parse YAML text into ``LineDict``/``LineList``/scalars; a syntax error names its line."""
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml is a main dependency
        raise PolicyError(path, None, f"reading YAML needs PyYAML: {_INSTALL_HINT}") from exc

    class _Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
        out = LineDict()
        out.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise PolicyError(path, key_node.start_mark.line + 1, f"key {key!r} is not text")
            if key in out:
                raise PolicyError(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out

    def sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
        out = LineList(loader.construct_object(item, deep=True) for item in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [item.start_mark.line + 1 for item in node.value]
        return out

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(path, line, f"not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(path, None, f"not valid YAML: {exc}") from exc
