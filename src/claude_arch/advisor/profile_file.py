"""Read a workload profile from a YAML file; a bad one is refused naming file, line and field.

>>> import tempfile, pathlib
>>> bad = pathlib.Path(tempfile.mkdtemp()) / "p.yaml"
>>> _ = bad.write_text("traffic:\\n  mean_rpm: 10\\n  peak_rpm: 5\\n")
>>> load_profile(bad)
Traceback (most recent call last):
...
claude_arch.advisor.errors.ProfileError: .../p.yaml:3: traffic.peak_rpm: must be at least ... (10)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from claude_arch.advisor.checks import check_profile
from claude_arch.advisor.errors import ProfileError
from claude_arch.advisor.profile import WorkloadProfile, profile_from_mapping
from claude_arch.advisor.sources import Sources, default_sources
from claude_arch.core.routing.errors import PolicyError
from claude_arch.core.routing.policy_yaml import LineDict, LineList, parse_yaml

__all__ = ["line_of", "load_profile", "profile_from_data", "with_overrides"]


def line_of(doc: Any, field: str) -> int | None:
    """The 1-based line of a dotted ``field`` in a parsed document, or of its nearest parent."""
    line: int | None = getattr(doc, "line", None) or None
    node = doc
    for part in field.split("."):
        if isinstance(node, LineDict) and part in node:
            line, node = node.line_of(part), node[part]
        elif isinstance(node, LineList) and part.isdigit() and int(part) < len(node):
            line, node = node.line_of(int(part)), node[int(part)]
        else:
            break
    return line


def with_overrides(doc: Any, overrides: Mapping[str, Any]) -> Any:
    """``doc`` with each dotted ``overrides`` key (``traffic.mean_rpm``) set; None values skipped.

    >>> with_overrides({"traffic": {"mean_rpm": 1}}, {"traffic.peak_rpm": 5, "models": None})
    {'traffic': {'mean_rpm': 1, 'peak_rpm': 5}}
    """
    if not isinstance(doc, dict):
        return doc
    for key, value in overrides.items():
        if value is None:
            continue
        node = doc
        *parents, last = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[last] = value
    return doc


def profile_from_data(data: Mapping[str, Any], sources: Sources | None = None) -> WorkloadProfile:
    """Validate and check a mapping (from JSON, flags or a form) against the catalog."""
    return check_profile(profile_from_mapping(data), sources or default_sources())


def load_profile(
    path: Path | str, sources: Sources | None = None, overrides: Mapping[str, Any] | None = None
) -> WorkloadProfile:
    """The checked profile in ``path``, dotted ``overrides`` applied (command-line flags);
    :class:`ProfileError` says where and why it is not."""
    where = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ProfileError("(file)", f"cannot read it: {exc.strerror}", path=where) from None
    try:
        doc = parse_yaml(text, where)
    except PolicyError as exc:
        raise ProfileError("(file)", exc.reason, path=where, line=exc.line) from None
    doc = with_overrides(doc if doc is not None else {}, overrides or {})
    try:
        return profile_from_data(doc, sources)
    except ProfileError as exc:
        if overrides and overrides.get(exc.field or "") is not None:
            raise  # a flag's value, not the file's
        raise exc.located(where, line_of(doc, exc.field or "")) from None
