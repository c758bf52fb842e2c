"""Cursor paging of the API's list endpoints (``/v1/models``, ``/v1/messages/batches``).

A list answers ``limit`` items (1 to 1000, default 20) after the object ``after_id`` names, or
before the one ``before_id`` names, and says whether more lie beyond in that direction. The
official SDKs' auto-pagers follow ``last_id`` (or, paging backwards, ``first_id``) until
``has_more`` is false.

    >>> ids = ["a", "b", "c", "d", "e"]
    >>> page(ids, str, limit="2", after_id="b")
    (['c', 'd'], True)
    >>> page(ids, str, limit=2, before_id="c")
    (['a', 'b'], False)
    >>> page_body([{"id": "c"}, {"id": "d"}], True)
    {'data': [{'id': 'c'}, {'id': 'd'}], 'has_more': True, 'first_id': 'c', 'last_id': 'd'}
    >>> page(ids, str, limit="0")
    Traceback (most recent call last):
    ...
    claude_arch.errors.InvalidRequestError: limit: must be an integer between 1 and 1000

Pure: bad parameters raise :class:`~claude_arch.errors.InvalidRequestError` (400, naming the
field) and an unknown cursor :class:`~claude_arch.errors.NotFoundError` (404); each server turns
them into its own response.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from claude_arch.errors import InvalidRequestError, NotFoundError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "openapi_parameters", "page", "page_body", "parse_limit"]

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def parse_limit(raw: str | int | None) -> int:
    """The page size a ``limit`` query value asks for (``None``: the default)."""
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = raw if isinstance(raw, int) else int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(
            f"limit: must be an integer between 1 and {MAX_LIMIT}", field="limit"
        )
    return limit


def page(
    items: Sequence[T],
    id_of: Callable[[T], str],
    *,
    limit: str | int | None = None,
    before_id: str | None = None,
    after_id: str | None = None,
) -> tuple[list[T], bool]:
    """The items of one page, in ``items``' order, and whether more lie beyond it (before it,
    when paging with ``before_id``)."""
    size = parse_limit(limit)
    if before_id is not None and after_id is not None:
        raise InvalidRequestError(
            "before_id: use before_id or after_id, not both", field="before_id"
        )
    cursor, name = (before_id, "before_id") if before_id is not None else (after_id, "after_id")
    if cursor is None:
        return list(items[:size]), size < len(items)
    at = next((i for i, item in enumerate(items) if id_of(item) == cursor), None)
    if at is None:
        raise NotFoundError(f"{name}: no object with id {cursor[:100]!r}")
    if before_id is not None:
        start = max(0, at - size)
        return list(items[start:at]), start > 0
    start = at + 1
    return list(items[start : start + size]), start + size < len(items)


def page_body(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """A list response: ``data``, ``has_more``, and the first and last IDs (null when empty)."""
    return {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def openapi_parameters(noun: str, *, newest_first: bool = False) -> list[dict[str, Any]]:
    """The query parameters of a paged list (``limit``, ``after_id``, ``before_id``) as OpenAPI
    parameter objects, for a route that reads them with :func:`page` (``noun``: what the list
    holds, e.g. ``"model"``; ``newest_first``: a list ordered newest first, like batches).

        >>> [p["name"] for p in openapi_parameters("model")]
        ['limit', 'after_id', 'before_id']
    """
    cursor = {"type": "string", "description": f"a {noun} ID from a previous page"}
    older, newer = (" (older ones", " (newer ones") if newest_first else (" (", " (")
    return [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"{noun.capitalize()}s per page.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        {
            "name": "after_id",
            "in": "query",
            "required": False,
            "description": f"The page right after this {noun}{older}"
            + ("; " if newest_first else "")
            + "not with before_id).",
            "schema": cursor,
        },
        {
            "name": "before_id",
            "in": "query",
            "required": False,
            "description": f"The page right before this {noun}{newer}"
            + ("; " if newest_first else "")
            + "not with after_id).",
            "schema": cursor,
        },
    ]
