"""Cited answers: text that quotes the request's documents, each quote carrying its citation.

    >>> import random
    >>> doc = {"type": "document", "title": "Notes", "citations": {"enabled": True},
    ...        "source": {"type": "text", "media_type": "text/plain",
    ...                   "data": "The sky is blue. Grass is green."}}
    >>> params = {"messages": [{"role": "user", "content": [doc, {"type": "text", "text": "?"}]}]}
    >>> segments = cited_segments(params, random.Random(1))
    >>> segments[0]
    ('The document says:', None)
    >>> text, (citation,) = segments[1]
    >>> citation["type"], citation["document_title"], citation["cited_text"] in text
    ('char_location', 'Notes', True)
    >>> data = doc["source"]["data"]
    >>> data[citation["start_char_index"]:citation["end_char_index"]] == citation["cited_text"]
    True

A document block with ``"citations": {"enabled": true}`` is citable when its source is plain text
(``char_location`` citations: character offsets into ``source.data``, end exclusive) or custom
content (``content_block_location``: indices into ``source.content``, end exclusive). The answer
quotes one to three sentences (or content blocks) of them, in document order; ``document_index``
counts every document block of the request's messages, cited or not. ``cited_text`` does not
count as output tokens, as on the API. PDFs are not read, so they get no citations.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Segment", "cited_segments"]

Segment = tuple[str, list[dict[str, Any]] | None]
"""A text block's text and its citations (None: an uncited block)."""

_SENTENCE = re.compile(r"\S[^.!?\n]*[.!?]*")
_MAX_SPAN = 300  # characters of one quote
_SPANS_PER_DOCUMENT = 64  # a long document is read this far, no further
_MAX_CITATIONS = 3


def _documents(params: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(document_index, block) for every document block of the messages, in order."""
    index = 0
    for message in params.get("messages") or ():
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, Mapping) and block.get("type") == "document":
                yield index, block
                index += 1


def _sentences(data: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence of ``data``: no surrounding space, at most _MAX_SPAN long."""
    for match in _SENTENCE.finditer(data):
        start = match.start()
        end = start + len(match.group().rstrip())
        if end - start > _MAX_SPAN:
            space = data.rfind(" ", start + 1, start + _MAX_SPAN)
            end = space if space > start else start + _MAX_SPAN
        yield start, end


def _spans(index: int, block: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The citations a document offers (its sentences, or its content blocks)."""
    source = block.get("source")
    if not isinstance(source, Mapping):
        return
    title = block.get("title") if isinstance(block.get("title"), str) else None
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        data: str = source["data"]
        for start, end in itertools.islice(_sentences(data), _SPANS_PER_DOCUMENT):
            yield {
                "type": "char_location",
                "cited_text": data[start:end],
                "document_index": index,
                "document_title": title,
                "start_char_index": start,
                "end_char_index": end,
            }
    elif source.get("type") == "content":
        content = source.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            return
        found = 0
        for i, part in enumerate(parts):
            if not isinstance(part, Mapping) or part.get("type") != "text":
                continue
            text = part.get("text")
            if not isinstance(text, str) or not text.strip():
                continue
            yield {
                "type": "content_block_location",
                "cited_text": text,
                "document_index": index,
                "document_title": title,
                "start_block_index": i,
                "end_block_index": i + 1,
            }
            found += 1
            if found == _SPANS_PER_DOCUMENT:
                return


def _enabled(block: Mapping[str, Any]) -> bool:
    config = block.get("citations")
    return isinstance(config, Mapping) and config.get("enabled") is True


def cited_segments(params: Mapping[str, Any], rng: random.Random) -> list[Segment]:
    """An answer quoting the request's citable documents, or ``[]`` when it has none."""
    pool = [span for i, doc in _documents(params) if _enabled(doc) for span in _spans(i, doc)]
    if not pool:
        return []
    count = rng.randint(1, min(_MAX_CITATIONS, len(pool)))
    chosen = [pool[i] for i in sorted(rng.sample(range(len(pool)), count))]
    several = len({c["document_index"] for c in chosen}) > 1
    segments: list[Segment] = [("The documents say:" if several else "The document says:", None)]
    segments.extend((" " + c["cited_text"], [c]) for c in chosen)
    return segments
