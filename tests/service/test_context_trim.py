"""The trim policy: the kept history fits, is a suffix, starts a turn, and is the longest such."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.tokens import count_request
from claude_arch.errors import InvalidRequestError
from claude_arch.service.chat.context import input_budget, trim_for_model, trim_history

WORDS = st.text(alphabet="abc xyz.,", min_size=0, max_size=400)


def _plain_turns(texts: list[tuple[str, str]], last: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for asked, answered in texts:
        messages += [
            {"role": "user", "content": asked},
            {"role": "assistant", "content": answered},
        ]
    return [*messages, {"role": "user", "content": last}]


@st.composite
def tool_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Conversations that mix plain turns with tool_use / tool_result exchanges."""
    messages: list[dict[str, Any]] = []
    for n in range(draw(st.integers(0, 8))):
        messages.append({"role": "user", "content": draw(WORDS)})
        if draw(st.booleans()):
            call = {
                "type": "tool_use",
                "id": f"toolu_{n}",
                "name": "ls",
                "input": {"p": draw(WORDS)},
            }
            result = {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": draw(WORDS)}
            messages.append({"role": "assistant", "content": [call]})
            messages.append({"role": "user", "content": [result]})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": draw(WORDS)}]})
    messages.append({"role": "user", "content": draw(WORDS)})
    return messages


def _starts_turn(message: dict[str, Any]) -> bool:
    content = message["content"]
    return message["role"] == "user" and (
        isinstance(content, str) or all(b["type"] != "tool_result" for b in content)
    )


@given(
    history=tool_histories(),
    window=st.integers(50, 3000),
    max_tokens=st.integers(1, 400),
    system=st.one_of(st.none(), WORDS),
)
def test_trim_properties(
    history: list[dict[str, Any]], window: int, max_tokens: int, system: str | None
) -> None:
    budget = input_budget(window, max_tokens)
    try:
        kept = trim_history(history, context_window=window, max_tokens=max_tokens, system=system)
    except InvalidRequestError:
        # refused only when even the newest turn start does not fit
        newest = max(i for i, m in enumerate(history) if _starts_turn(m))
        tail = count_request({"system": system, "messages": history[newest:]})
        assert tail > budget
        return
    sent = count_request({"system": system, "messages": kept.messages})
    assert sent <= budget  # fits
    assert kept.input_tokens == sent
    assert kept.messages == history[kept.dropped :]  # a suffix
    assert _starts_turn(kept.messages[0])  # starts on a user turn, no orphan tool_result
    ids_used = {
        b["id"]
        for m in kept.messages
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_use"
    }
    ids_answered = {
        b["tool_use_id"]
        for m in kept.messages
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_result"
    }
    assert ids_used == ids_answered  # no pair split
    # the longest such suffix: the previous turn start would not have fitted
    earlier = [i for i in range(kept.dropped) if _starts_turn(history[i])]
    if earlier:
        longer = count_request({"system": system, "messages": history[earlier[-1] :]})
        assert longer > budget


@given(turns=st.lists(st.tuples(WORDS, WORDS), max_size=10), last=WORDS)
def test_a_large_window_keeps_everything(turns: list[tuple[str, str]], last: str) -> None:
    history = _plain_turns(turns, last)
    kept = trim_history(history, context_window=200_000, max_tokens=4096)
    assert kept.dropped == 0
    assert kept.messages == history


def test_the_newest_turn_too_large_is_a_400_naming_the_field() -> None:
    history = _plain_turns([("hi", "hello")], "word " * 2000)
    with pytest.raises(InvalidRequestError) as info:
        trim_history(history, context_window=1000, max_tokens=100, field="text")
    assert info.value.field == "text"
    assert "context window" in info.value.message


def test_a_history_without_a_user_turn_is_refused() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}
    with pytest.raises(InvalidRequestError, match="no user turn"):
        trim_history([{"role": "user", "content": [result]}], context_window=1000, max_tokens=1)


def test_trim_for_model_uses_the_catalog_window() -> None:
    model = default_catalog().resolve("claude-haiku-4-5")
    history = _plain_turns([("word " * 190_000, "ok")], "and now?")
    kept = trim_for_model(history, model, max_tokens=1000)
    assert model.context_window == 200_000
    assert kept.dropped == 2
