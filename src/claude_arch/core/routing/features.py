"""What routing looks at in a request: measured once, in microseconds, without the network.

>>> f = Features.of({"messages": [{"role": "user", "content": "Fix this:\\n```py\\nx=1\\n```"}],
...                  "max_tokens": 256})
>>> (f.has_code, f.turns, f.max_output_tokens, f.has_images)
(True, 1, 256, False)
>>> Features.of({"messages": []}).text
''
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.tokens import IMAGE_TOKENS, count_text

__all__ = ["EXACT_COUNT_CHARS", "SEARCH_CHARS", "Features"]

EXACT_COUNT_CHARS = 1_000
SEARCH_CHARS = 4_000
"""Keywords and regexes look at the head of a long prompt: its instruction."""
_WORD = re.compile(r"\w+")
"""Texts up to this many characters are counted with the tokenizer approximation; longer ones are
estimated at four characters a token, so a huge prompt costs no more to route than a short one."""

_CODE = re.compile(r"```|^\s*(def|class|import|function|public|#include|SELECT)\b", re.M)


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
    words: frozenset[str] = field(init=False, repr=False, compare=False)
    """The words of ``head``, for keyword conditions (a set lookup, not a scan per rule)."""

    def __post_init__(self) -> None:
        head = self.text[:SEARCH_CHARS].lower()
        object.__setattr__(self, "head", head)
        object.__setattr__(self, "words", frozenset(_WORD.findall(head)))

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
            has_code=_CODE.search(last_user, 0, EXACT_COUNT_CHARS * 4) is not None,
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
