"""How the request's tagged unions pick a member: by the Python type of a content field, or by
the ``type`` of an object. Shared by the request models (:mod:`.schema_blocks`) and the plain
request's schema (:mod:`.plain_schema`), and free of pydantic so that the second needs none.

    >>> content_tag("Hi"), content_tag([]), content_tag(3)
    ('§str', '§list', None)
    >>> type_tag({"type": "text"}), type_tag({"type": 3}), type_tag("text")
    ('§text', None, None)

The tags carry :data:`MARK` so that they can be dropped from error paths
(``messages.0.content.1.text``, not ``messages.0.content.§list.1.§text.text``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MARK", "content_tag", "type_tag"]

MARK = "§"


def content_tag(value: Any) -> str | None:
    """A content field's member: a string or a list (anything else matches none)."""
    if isinstance(value, str):
        return MARK + "str"
    return MARK + "list" if isinstance(value, list) else None


def type_tag(value: Any) -> str | None:
    """An object's member, named by its string field ``type`` (else none)."""
    if isinstance(value, dict):
        kind = value.get("type")
        return MARK + kind if isinstance(kind, str) else None
    return None
