"""IDs shaped like the real API's: ``msg_01…``, ``req_01…``, ``toolu_01…``, ``msgbatch_01…``.

>>> new_id("msg").startswith("msg_01") and len(new_id("msg")) == len("msg_01") + 22
True
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["new_id", "short_hash"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 22


def new_id(prefix: str) -> str:
    """A fresh random ID: ``{prefix}_01`` and 22 base62 characters."""
    n = int.from_bytes(os.urandom(17), "big")
    chars = []
    for _ in range(_BODY_LEN):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return f"{prefix}_01{''.join(chars)}"


def short_hash(secret: str) -> str:
    """A short, stable, non-reversible handle for an API key (stats and limit scopes)."""
    # Header bytes that are not UTF-8 arrive as surrogates; a key like that must not cause a 500.
    data = secret.encode("utf-8", "surrogatepass")
    return "key_" + hashlib.blake2b(data, digest_size=6).hexdigest()
