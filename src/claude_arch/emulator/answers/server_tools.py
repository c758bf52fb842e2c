"""Anthropic-run tools, emulated: a web search answers with the API's server-tool blocks.

    >>> import random
    >>> blocks, segments = web_search(random.Random(2), "Use web_search: claude rate limits")
    >>> [b["type"] for b in blocks]
    ['server_tool_use', 'web_search_tool_result']
    >>> blocks[0]["input"], blocks[1]["tool_use_id"] == blocks[0]["id"]
    ({'query': 'claude rate limits'}, True)
    >>> citation = segments[1][1][0]
    >>> citation["type"], citation["url"] in {r["url"] for r in blocks[1]["content"]}
    ('web_search_result_location', True)

A request whose ``tools`` hold a ``web_search_…`` tool (``web_search_20250305``) and whose reply
calls it gets, instead of a ``tool_use`` for the client to run: a ``server_tool_use`` block (ID
``srvtoolu_01…``, input ``{"query": …}`` from the prompt), a ``web_search_tool_result`` with two
to four ``web_search_result`` entries on example.com, then text citing them
(``web_search_result_location``), and ``usage.server_tool_use.web_search_requests``. The results
are made up and cost no output tokens.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Mapping
from typing import Any

from claude_arch.emulator.answers.citations import Segment
from claude_arch.emulator.answers.text import generate_text
from claude_arch.emulator.ids import new_id

__all__ = ["is_server_tool", "web_search"]

_WORD = re.compile(r"[\w'-]+")
_MAX_QUERY_WORDS = 12
_SITES = ("docs", "blog", "news", "wiki", "forum")
_MONTHS = ("January", "March", "May", "July", "September", "November")
_FILLER = frozenset({"use", "the", "web_search", "tool", "to", "search", "for", "please"})


def is_server_tool(tool: Mapping[str, Any]) -> bool:
    """Whether ``tool`` is a web search the API runs itself (``web_search_20250305``, …)."""
    kind = tool.get("type")
    return isinstance(kind, str) and kind.startswith("web_search_")


def _query(prompt: str) -> str:
    words = _WORD.findall(prompt)
    kept = [w for w in words if w.lower() not in _FILLER] or ["claude", "api", "rate", "limits"]
    return " ".join(kept[-_MAX_QUERY_WORDS:])


def _opaque(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.getrandbits(8 * size).to_bytes(size, "big")).decode()


def web_search(rng: random.Random, prompt: str) -> tuple[list[dict[str, Any]], list[Segment]]:
    """A search for ``prompt``: its two blocks, and the text segments citing its results."""
    call_id = new_id("srvtoolu")
    query = _query(prompt)
    slug = "-".join(query.lower().split()[:4]) or "search"
    results: list[dict[str, Any]] = []
    for n in range(rng.randint(2, 4)):
        site = rng.choice(_SITES)
        results.append(
            {
                "type": "web_search_result",
                "title": f"{query.title()} ({site} {n + 1})",
                "url": f"https://{site}.example.com/{slug}-{n + 1}",
                "encrypted_content": _opaque(rng, 48),
                "page_age": f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, 2026",
            }
        )
    blocks: list[dict[str, Any]] = [
        {"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {"query": query}},
        {"type": "web_search_tool_result", "tool_use_id": call_id, "content": results},
    ]
    segments: list[Segment] = [("Here is what the search found:", None)]
    for result in rng.sample(results, rng.randint(1, 2)):
        quote = generate_text(rng, rng.randint(8, 20))
        citation = {
            "type": "web_search_result_location",
            "cited_text": quote,
            "url": result["url"],
            "title": result["title"],
            "encrypted_index": _opaque(rng, 24),
        }
        segments.append((" " + quote, [citation]))
    return blocks, segments
