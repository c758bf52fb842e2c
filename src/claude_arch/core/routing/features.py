"""What routing looks at in a request: measured once, in microseconds, without the network.

>>> f = Features.of({"messages": [{"role": "user", "content": "Fix this:\\n```py\\nx=1\\n```"}],
...                  "max_tokens": 256})
>>> (f.has_code, f.turns, f.max_output_tokens, f.has_images)
(True, 1, 256, False)
>>> Features.of({"messages": []}).text
''
>>> sorted(Features.of_prompt("Hello, World! hello_2 again").words)
['again', 'hello', 'hello_2', 'world']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.tokens import IMAGE_TOKENS, count_text

__all__ = ["CODE_CHARS", "EXACT_COUNT_CHARS", "SEARCH_CHARS", "Features", "has_code", "words_of"]

EXACT_COUNT_CHARS = 1_000
"""Texts up to this many characters are counted with the tokenizer approximation; longer ones are
estimated at four characters a token, so a huge prompt costs no more to route than a short one."""
SEARCH_CHARS = 2_000
"""Keywords and regexes look at the head of a long prompt: its instruction. A long prompt's
keywords cost in proportion to this (its words are split and hashed): 4,000 took 0.06 ms of a
decision at best and put the rules' p99 at about 0.1 ms; on the training prompts the rules decide
the same at 1,000, 2,000 and 4,000."""
CODE_CHARS = 4_000
"""How far into the last user message code is looked for (a substring test and a regex that
jumps from line break to line break: cheap)."""

_WORD = re.compile(r"\w+")
_CODE_WORDS = r"(?:def|class|import|function|public|#include|SELECT)\b"
# Code: a fence, or a line whose first non-blank word is one of _CODE_WORDS; that is
# re.compile(r"```|^\s*(def|class|...)\b", re.M).search(text, 0, CODE_CHARS), which tried every
# position and backtracked over every run of blank lines (1.3 s on 16,000 characters of " \n").
# Here: a substring test, the first line, then the other lines found by their "\n" (a literal
# prefix, which the regex engine scans for in C). "[^\S\n]*+" is "\s*" without line breaks,
# possessive: a code word never starts with a blank, so nothing is lost by not giving any back.
_CODE_FIRST_LINE = re.compile(rf"[^\S\n]*+{_CODE_WORDS}")
_CODE_NEXT_LINE = re.compile(rf"\n[^\S\n]*+{_CODE_WORDS}")
_ASCII_WORD_BYTES = bytes(
    c if chr(c).isalnum() or chr(c) == "_" else 0x20 for c in range(128)
) + bytes([0x20] * 128)
"""ASCII word characters (``\\w`` on ASCII text) kept, every other byte a space."""


def has_code(text: str) -> bool:
    """Whether the first ``CODE_CHARS`` characters of ``text`` hold a code fence or a line
    starting (after blanks) with ``def``, ``class``, ``import``, ``function``, ``public``,
    ``#include`` or ``SELECT``."""
    return (
        text.find("```", 0, CODE_CHARS) >= 0
        or _CODE_FIRST_LINE.match(text, 0, CODE_CHARS) is not None
        or _CODE_NEXT_LINE.search(text, 0, CODE_CHARS) is not None
    )


def words_of(head: str) -> frozenset[str]:
    """The set of ``\\w+`` runs of ``head``: on ASCII text one byte-table translation and one
    split (both in C), about four times cheaper than the regex, which other text still uses."""
    if head.isascii():
        return frozenset(head.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii").split())
    return frozenset(_WORD.findall(head))


def _text_of(content: Any) -> tuple[str, int]:
    """A message's text and how many image or document blocks it holds."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    parts: list[str] = []
    media = 0
    for block in content:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind in ("image", "document"):
            media += 1
        elif kind == "tool_result":
            text, more = _text_of(block.get("content", ""))
            parts.append(text)
            media += more
    return "\n".join(parts), media


def _tokens(text: str) -> int:
    return count_text(text) if len(text) <= EXACT_COUNT_CHARS else len(text) // 4


@dataclass(frozen=True, slots=True)
class Features:
    """The request as routing sees it.

    ``text`` is the last user message's text; ``prompt_tokens`` counts every message and the
    system prompt (images at their flat rate); ``turns`` counts user messages.
    """

    text: str
    prompt_tokens: int
    turns: int
    has_code: bool
    has_tools: bool
    has_images: bool
    max_output_tokens: int | None
    head: str = field(init=False, repr=False, compare=False)
    """The first ``SEARCH_CHARS`` characters of ``text``, lower-cased: what keywords look at."""
    head_is_ascii: bool = field(init=False, repr=False, compare=False)
    """Whether those characters (before lower-casing) are all ASCII."""
    _words: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        window = self.text[:SEARCH_CHARS]
        object.__setattr__(self, "head", window.lower())
        object.__setattr__(self, "head_is_ascii", window.isascii())

    @property
    def words(self) -> frozenset[str]:
        """The words of ``head``, for keyword conditions (a set lookup, not a scan per rule);
        measured on first use."""
        words = self._words
        if words is None:
            words = words_of(self.head)
            object.__setattr__(self, "_words", words)
        return words

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Features:
        """Measure a Messages request body (``messages``, ``system``, ``tools``, ``max_tokens``)."""
        messages = params.get("messages")
        if not isinstance(messages, list):
            messages = []
        last_user = ""
        tokens = 0
        turns = 0
        media = 0
        for message in messages:
            if not isinstance(message, Mapping):
                continue
            text, blocks = _text_of(message.get("content", ""))
            tokens += _tokens(text) + blocks * IMAGE_TOKENS
            media += blocks
            if message.get("role") == "user":
                turns += 1
                last_user = text
        system = params.get("system")
        if system is not None:
            tokens += _tokens(_text_of(system)[0])
        max_tokens = params.get("max_tokens")
        return cls(
            text=last_user,
            prompt_tokens=tokens,
            turns=turns,
            has_code=has_code(last_user),
            has_tools=bool(params.get("tools")),
            has_images=media > 0,
            max_output_tokens=max_tokens if isinstance(max_tokens, int) else None,
        )

    @classmethod
    def of_prompt(cls, prompt: str, max_tokens: int | None = None) -> Features:
        """Measure a single user prompt (what ``route eval`` routes)."""
        params: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}]}
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        return cls.of(params)
