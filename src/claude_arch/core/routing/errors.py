"""The routing errors, both a :class:`~claude_arch.errors.ConfigError` (a file is wrong).

ConfigError
├── PolicyError       a policy file is broken: carries .path, .line and .reason
└── DatasetError      an evaluation JSONL line is broken: carries .path, .line and .reason

>>> str(PolicyError("policy.yaml", 7, "tier 'huge' is not defined"))
"policy.yaml:7: tier 'huge' is not defined"
"""

from __future__ import annotations

from claude_arch.errors import ConfigError

__all__ = ["DatasetError", "PolicyError"]


class _LocatedError(ConfigError):
    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class PolicyError(_LocatedError):
    """A routing policy does not load; ``path``, ``line`` (1-based, or None) and ``reason`` say
    where and why."""


class DatasetError(_LocatedError):
    """A labelled JSONL line does not parse; ``line`` is its 1-based number."""
