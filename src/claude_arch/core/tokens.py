"""One tokenizer approximation, used everywhere a token count is needed before the API says.

The emulator reports usage with it, its ``count_tokens`` endpoint answers with it, and the client
uses it to reserve input tokens in the rate limiter before a request is sent. Being the same
function in all three places is what matters; being close to Claude's real tokenizer (about one
token per four characters of English) is secondary.

    >>> count_text("Hello, world!")
    6
    >>> count_request({"messages": [{"role": "user", "content": "Hello, world!"}]})
    9
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["count_content", "count_request", "count_text"]

# A token is up to four word characters, or one other non-space character.
_TOKEN = re.compile(r"\w{1,4}|[^\w\s]")
MESSAGE_OVERHEAD = 3
SYSTEM_OVERHEAD = 3
TOOLS_OVERHEAD = 300
IMAGE_TOKENS = 1_600
DOCUMENT_TOKENS = 2_000


def count_text(text: str) -> int:
    """Approximate token count of a string."""
    return len(_TOKEN.findall(text))


def _count_block(block: Mapping[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return count_text(str(block.get("text", "")))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source") or {}
        if isinstance(source, Mapping) and source.get("type") == "text":
            return count_text(str(source.get("data", "")))
        return DOCUMENT_TOKENS
    if kind == "tool_use":
        return count_text(str(block.get("name", ""))) + count_text(
            json.dumps(block.get("input", {}), separators=(",", ":"))
        )
    if kind == "tool_result":
        return count_content(block.get("content", ""))
    if kind in ("thinking", "redacted_thinking"):
        return 0  # earlier turns' thinking is stripped from the context by the API
    return count_text(json.dumps(block, separators=(",", ":"), default=str))


def count_content(content: str | Iterable[Mapping[str, Any]] | Any) -> int:
    """Tokens of a message's ``content`` (a string or a list of blocks)."""
    if isinstance(content, str):
        return count_text(content)
    if isinstance(content, Iterable):
        return sum(_count_block(b) for b in content if isinstance(b, Mapping))
    return 0


def count_request(params: Mapping[str, Any]) -> int:
    """Input tokens of a Messages request (system, messages and tool definitions)."""
    total = 0
    system = params.get("system")
    if system:
        total += SYSTEM_OVERHEAD + count_content(system)
    for message in params.get("messages") or ():
        if isinstance(message, Mapping):
            total += MESSAGE_OVERHEAD + count_content(message.get("content", ""))
    tools = params.get("tools")
    if tools:
        total += TOOLS_OVERHEAD + count_text(json.dumps(tools, separators=(",", ":"), default=str))
    return total
