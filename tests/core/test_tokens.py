from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.tokens import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    count_content,
    count_request,
    count_text,
)


def test_words_and_punctuation() -> None:
    assert count_text("") == 0
    assert count_text("a b c") == 3
    assert count_text("abcdefgh") == 2
    assert count_text("hi!") == 2


@given(st.text(), st.text())
def test_counts_are_additive_across_whitespace(a: str, b: str) -> None:
    assert count_text(a + " " + b) == count_text(a) + count_text(b)


@given(st.text())
def test_every_token_covers_one_to_four_visible_characters(text: str) -> None:
    n = count_text(text)
    visible = sum(1 for c in text if not c.isspace())
    assert n <= visible <= 4 * n


def test_string_and_block_content_count_the_same() -> None:
    assert count_content("hello there") == count_content([{"type": "text", "text": "hello there"}])


def test_request_counts_system_messages_and_images() -> None:
    params = {
        "system": "be brief",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
                ],
            }
        ],
    }
    expected = 3 + count_text("be brief") + MESSAGE_OVERHEAD + count_text("what is this")
    assert count_request(params) == expected + IMAGE_TOKENS


def test_tools_add_their_definitions() -> None:
    base = {"messages": [{"role": "user", "content": "x"}]}
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    assert count_request({**base, "tools": tools}) > count_request(base) + 300
