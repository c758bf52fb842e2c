"""Cooldowns are shared by every thread of a SyncClaudeClient: two threads finding the same
expired cooldown at once must both see it over, not fail on the second removal."""

from __future__ import annotations

from claude_arch.core.retry import Cooldowns


class _RacedDict(dict[str, float]):
    """A dict whose ``get`` lets another thread remove the entry right after reading it: the
    interleaving of two threads that both read an expired cooldown before either removes it."""

    def get(self, key: str, default: float | None = None) -> float | None:  # type: ignore[override]
        value = super().get(key, default)
        self.pop(key, None)
        return value


def test_an_expired_cooldown_read_by_two_threads_at_once() -> None:
    cooldowns = Cooldowns(seconds=30)
    cooldowns.mark("claude-opus-4-5", seconds=-1.0)  # already over
    cooldowns._until = _RacedDict(cooldowns._until)
    assert cooldowns.cooling("claude-opus-4-5") is False
