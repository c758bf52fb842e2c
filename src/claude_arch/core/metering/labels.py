"""Bounded label values, shared by every meter: cardinality never grows with what callers send.

>>> labels = BoundedLabels()
>>> labels.model("claude-haiku-4-5-20251001"), labels.model("gpt-4"), labels.error_type("?")
('claude-haiku-4-5', 'other', 'other')
"""

from __future__ import annotations

from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.errors import ClaudeArchError

__all__ = ["NO_ERROR", "OPERATIONS", "OTHER", "BoundedLabels"]

OTHER = "other"
NO_ERROR = "none"
OPERATIONS = frozenset({"create", "stream", "count_tokens", "batch"})


def _error_types() -> frozenset[str]:
    seen: set[str] = set()
    stack: list[type[ClaudeArchError]] = [ClaudeArchError]
    while stack:
        cls = stack.pop()
        seen.add(cls.error_type)
        stack.extend(cls.__subclasses__())
    return frozenset(seen)


class BoundedLabels:
    """Maps record fields to a fixed set of values: catalog model IDs, known operations, known
    Anthropic error types, HTTP status codes; anything else becomes ``other``."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._catalog = catalog if catalog is not None else default_catalog()
        self._error_types = _error_types()

    def model(self, name: str) -> str:
        """The canonical model ID (aliases fold into it), or ``other``."""
        info = self._catalog.get(name)
        return info.id if info is not None else OTHER

    @staticmethod
    def operation(operation: str) -> str:
        return operation if operation in OPERATIONS else OTHER

    def error_type(self, error_type: str | None) -> str:
        if not error_type:
            return NO_ERROR
        return error_type if error_type in self._error_types else OTHER

    @staticmethod
    def status(status: int) -> str:
        return str(status) if 100 <= status <= 599 else OTHER
