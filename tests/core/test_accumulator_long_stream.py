"""A long answer's text is assembled without copying it once per delta (that was quadratic: a
100k-delta stream cost seconds of CPU on the event loop), and reads the same at every point."""

from __future__ import annotations

from claude_arch.core.wire import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    MessageAccumulator,
    MessageStart,
)


class _CountingText(str):
    """A delta's text that counts the characters copied when something is added before it."""

    copied = 0

    def __radd__(self, other: str) -> str:
        _CountingText.copied += len(other)
        return other + str(self)


def _started(kind: str) -> MessageAccumulator:
    acc = MessageAccumulator()
    acc.feed(MessageStart({"id": "msg_1", "model": "claude-haiku-4-5", "content": []}))
    acc.feed(ContentBlockStart(0, {"type": kind, kind: ""}))
    return acc


def test_text_deltas_are_not_copied_per_delta() -> None:
    _CountingText.copied = 0
    acc = _started("text")
    deltas = 5_000
    for _ in range(deltas):
        acc.feed(ContentBlockDelta(0, {"type": "text_delta", "text": _CountingText("abcd")}))
    acc.feed(ContentBlockStop(0))
    assert acc.message().content[0]["text"] == "abcd" * deltas
    assert _CountingText.copied <= 4 * deltas  # linear; per-delta copies made it ~50 million


def test_thinking_deltas_are_not_copied_per_delta() -> None:
    _CountingText.copied = 0
    acc = _started("thinking")
    for _ in range(5_000):
        delta = {"type": "thinking_delta", "thinking": _CountingText("hmm ")}
        acc.feed(ContentBlockDelta(0, delta))
    assert acc.message().content[0]["thinking"] == "hmm " * 5_000
    assert _CountingText.copied <= 4 * 5_000


def test_the_message_so_far_reads_the_text_so_far() -> None:
    acc = _started("text")
    acc.feed(ContentBlockDelta(0, {"type": "text_delta", "text": "Hel"}))
    assert acc.message().text == "Hel"
    acc.feed(ContentBlockDelta(0, {"type": "text_delta", "text": "lo"}))
    acc.feed(ContentBlockStop(0))
    assert acc.message().text == "Hello"
