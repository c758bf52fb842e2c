"""The trim policy: which part of a conversation is sent, so the request fits the model's window.

A chat session grows without end; the model's context window does not. Before each turn the
history is cut to the longest *suffix* that fits:

- the system prompt and tool definitions are always sent (they are counted first);
- ``max_tokens`` of the window is kept free for the answer;
- a safety margin (``SAFETY_MARGIN``, 10% of the window) is kept free too, because the token count
  is core's estimate (:mod:`claude_arch.core.tokens`), not Claude's tokenizer;
- the kept part starts on a user turn that carries no ``tool_result``, so a ``tool_use`` is never
  sent without its result, nor a result without its call;
- the oldest turns go first; the newest turn is never dropped: if it alone does not fit, the
  request is refused (400 naming the field) instead of being sent without what was just asked.

    >>> history = [
    ...     {"role": "user", "content": "word " * 600},
    ...     {"role": "assistant", "content": "ok"},
    ...     {"role": "user", "content": "and now?"},
    ... ]
    >>> kept = trim_history(history, context_window=1000, max_tokens=500)
    >>> kept.dropped, [m["content"] for m in kept.messages]
    (2, ['and now?'])
    >>> trim_history(history, context_window=200_000, max_tokens=500).dropped
    0

Pure functions: no I/O, the same input always gives the same cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claude_arch.core.tokens import count_request
from claude_arch.errors import InvalidRequestError

if TYPE_CHECKING:
    from claude_arch.core.pricing.catalog import ModelInfo

__all__ = ["SAFETY_MARGIN", "Trimmed", "input_budget", "trim_for_model", "trim_history"]

SAFETY_MARGIN = 0.10
"""Share of the window left unused: the token count is an estimate."""


@dataclass(frozen=True, slots=True)
class Trimmed:
    """The messages to send, how many older ones were left out, and their input estimate."""

    messages: list[dict[str, Any]]
    dropped: int
    input_tokens: int


def input_budget(context_window: int, max_tokens: int, *, margin: float = SAFETY_MARGIN) -> int:
    """Input tokens a request may use: the window minus the margin and the answer's room.

    >>> input_budget(200_000, 4096)
    175904
    """
    return int(context_window * (1.0 - margin)) - max_tokens


def _opens_a_turn(message: Mapping[str, Any]) -> bool:
    """A user message that answers no tool call: a history may start here."""
    if message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    if isinstance(content, Sequence):
        return not any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)
    return True


def trim_history(
    messages: Sequence[dict[str, Any]],
    *,
    context_window: int,
    max_tokens: int,
    system: str | list[dict[str, Any]] | None = None,
    tools: list[dict[str, Any]] | None = None,
    margin: float = SAFETY_MARGIN,
    field: str = "messages",
) -> Trimmed:
    """The longest suffix of ``messages`` that starts a turn and fits (see the module doc).

    Raises :class:`~claude_arch.errors.InvalidRequestError` (naming ``field``) when no turn
    start exists or the newest turn alone does not fit."""
    fixed = count_request({"system": system, "tools": tools})
    budget = input_budget(context_window, max_tokens, margin=margin) - fixed
    # count_request is a sum over messages, so each message's share can be added up from the end
    used = 0
    best: int | None = None
    best_used = 0
    for index in range(len(messages) - 1, -1, -1):
        used += count_request({"messages": [messages[index]]})
        if used > budget:
            break
        if _opens_a_turn(messages[index]):
            best, best_used = index, used
    if best is None:
        if not any(_opens_a_turn(m) for m in messages):
            raise InvalidRequestError(
                f"{field}: the conversation has no user turn to start from", field=field
            )
        raise InvalidRequestError(
            f"{field}: the newest turn does not fit the model's context window "
            f"({context_window} tokens, {max_tokens} of them kept for the answer and "
            f"{int(margin * 100)}% as a margin); send a shorter message or a smaller max_tokens",
            field=field,
        )
    return Trimmed(list(messages[best:]), best, fixed + best_used)


def trim_for_model(
    messages: Sequence[dict[str, Any]],
    model: ModelInfo,
    *,
    max_tokens: int,
    system: str | list[dict[str, Any]] | None = None,
    field: str = "messages",
) -> Trimmed:
    """:func:`trim_history` with the window of a catalog model."""
    return trim_history(
        messages,
        context_window=model.context_window,
        max_tokens=max_tokens,
        system=system,
        field=field,
    )
