"""The advisor's one error: a workload profile that cannot be, naming the field and why.

    InvalidRequestError (claude_arch.errors)
    └── ProfileError     carries .field, .reason, and .path / .line when it came from a file

>>> str(ProfileError("traffic.peak_rpm", "must be at least traffic.mean_rpm (300)"))
'traffic.peak_rpm: must be at least traffic.mean_rpm (300)'
>>> str(ProfileError("budget_usd_per_month", "must be more than 0", path="p.yaml", line=9))
'p.yaml:9: budget_usd_per_month: must be more than 0'
"""

from __future__ import annotations

from claude_arch.errors import InvalidRequestError

__all__ = ["ProfileError"]


class ProfileError(InvalidRequestError):
    """A workload profile is refused: ``field`` (dotted, e.g. ``tokens.output.p95``) and
    ``reason`` say what is wrong; ``path`` and ``line`` (1-based) where, for a file."""

    def __init__(
        self, field: str, reason: str, *, path: str | None = None, line: int | None = None
    ) -> None:
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(f"{where}{field}: {reason}", field=field)
        self.reason = reason
        self.path = path
        self.line = line

    def located(self, path: str, line: int | None) -> ProfileError:
        """The same error, placed in a file."""
        return ProfileError(self.field or "", self.reason, path=path, line=line)
