"""Write :mod:`claude_arch.edge.protocol_data` from core: the catalog, the error types, the limits.

    claude-arch edge generate           # rewrite src/claude_arch/edge/protocol_data.py
    claude-arch edge generate --check   # exit 1 when the file on disk and core disagree

The edge core runs under Pyodide with the standard library only, so it cannot import core (pydantic,
tomllib-loaded catalogs, aiohttp). It reads the protocol as plain Python literals instead, and this
module is the one place those literals come from; ``tests/edge`` fails when they drift.

    >>> text = render_protocol_data()
    >>> '"claude-haiku-4-5": ("haiku", 200000, 64000),' in text
    True

Runs under CPython only (it imports core); it is not part of the worker's upload.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

__all__ = ["PROTOCOL_DATA_PATH", "render_protocol_data", "write_protocol_data"]

PROTOCOL_DATA_PATH = Path(__file__).resolve().parents[1] / "protocol_data.py"

_HEADER = '''"""The Messages API as data for the edge core: generated from core, do not edit.

Regenerate with ``claude-arch edge generate`` after changing core/models.toml, errors.py or
constants.py; ``tests/edge`` fails while this file and core disagree.
"""

from __future__ import annotations

from typing import Final
'''


def _py(value: object) -> str:
    """A literal as ``ruff format`` writes it (double quotes), so the file needs no formatting."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_py(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _literal(name: str, value: object, annotation: str = "") -> str:
    kind = f"Final[{annotation}]" if annotation else "Final"
    if isinstance(value, dict) and value:
        lines = [f"{name}: {kind} = {{"]
        lines += [f"    {_py(key)}: {_py(item)}," for key, item in value.items()]
        return "\n".join([*lines, "}"])
    return f"{name}: {kind} = {_py(value)}"


def _error_types() -> dict[int, str]:
    """Status → Anthropic error type of every status the API documents, from errors.py's tree."""
    from claude_arch import errors

    found: dict[int, str] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if (
            inspect.isclass(cls)
            and issubclass(cls, errors.APIStatusError)
            and cls is not errors.APIStatusError
            and "status" in vars(cls)
        ):
            found.setdefault(cls.status, cls.error_type)
    return dict(sorted(found.items()))


def render_protocol_data() -> str:
    """The text of ``protocol_data.py`` as core defines the protocol today."""
    from claude_arch import constants
    from claude_arch.core.pricing.catalog import default_catalog
    from claude_arch.core.validation.schema import MAX_NESTING
    from claude_arch.service.tenancy.keys import _SECRET_RE

    catalog = default_catalog()
    models = {m.id: (m.family, m.context_window, m.max_output) for m in catalog}
    aliases = {alias: m.id for m in catalog for alias in m.aliases}
    parts = [
        _HEADER,
        _literal("ANTHROPIC_API_URL", constants.ANTHROPIC_API_URL),
        _literal("API_VERSIONS", tuple(sorted(constants.SUPPORTED_API_VERSIONS))),
        _literal("DEFAULT_API_VERSION", constants.API_VERSION_0X),
        _literal("MAX_REQUEST_BYTES", constants.MAX_REQUEST_BYTES),
        _literal("MAX_NESTING", MAX_NESTING),
        _literal("SERVICE_KEY_PATTERN", _SECRET_RE.pattern),
        _literal("HEADER_API_KEY", constants.HEADER_API_KEY),
        _literal("HEADER_AUTHORIZATION", constants.HEADER_AUTHORIZATION),
        _literal("HEADER_VERSION", constants.HEADER_VERSION),
        _literal("HEADER_BETA", constants.HEADER_BETA),
        _literal("HEADER_REQUEST_ID", constants.HEADER_REQUEST_ID),
        _literal("HEADER_RETRY_AFTER", constants.HEADER_RETRY_AFTER),
        _literal("HEADER_SHOULD_RETRY", constants.HEADER_SHOULD_RETRY),
        _literal("RATELIMIT_HEADER_PREFIX", constants.RATELIMIT_HEADER_PREFIX),
        "\n# status -> Anthropic error type (errors.py)",
        _literal("ERROR_TYPES", _error_types(), "dict[int, str]"),
        "\n# id -> (family, context window, max output), in the catalog's order (core/models.toml)",
        _literal("MODELS", models, "dict[str, tuple[str, int, int]]"),
        _literal("ALIASES", aliases, "dict[str, str]"),
    ]
    return "\n".join(parts) + "\n"


def write_protocol_data(path: Path = PROTOCOL_DATA_PATH) -> bool:
    """Write the module when it differs from core; True when the file changed."""
    text = render_protocol_data()
    if path.exists() and path.read_text("utf-8") == text:
        return False
    path.write_text(text, "utf-8")
    return True
