"""The benchmark's errors.

    ClaudeArchError (claude_arch.errors)
    ├── InvalidRequestError
    │   ├── ProfileError (advisor)   a bad profile: the field and why (exit 2 in ``bench``)
    │   └── BenchInputError          a bad option (``--requests 0``): the option and why (exit 2)
    └── BenchError                   a variant could not be started or driven: which, and why

>>> str(BenchInputError("requests", "must be at least 1"))
'requests: must be at least 1'
"""

from __future__ import annotations

from claude_arch.errors import ClaudeArchError, InvalidRequestError

__all__ = ["BenchError", "BenchInputError"]


class BenchError(ClaudeArchError):
    """A variant could not be started or driven; the message says which and why."""


class BenchInputError(InvalidRequestError):
    """An option of the benchmark is out of range: ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason
