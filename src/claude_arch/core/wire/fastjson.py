"""JSON on the per-request path: orjson where it can, the standard library where it cannot.

A gateway request decodes its body and the upstream answer, and encodes the upstream body and
its access line; orjson does both several times faster than the standard library (figures:
bench/README.md § bench_gateway.py, ``--stdlib-json``). What orjson refuses, or would read
differently (integers beyond 64 bits, non-string keys, escaped lone surrogates), goes to the
standard library, so results and errors are the standard library's. One difference is kept on
purpose: ``NaN`` and ``Infinity`` are neither read (an error) nor written (null), as JSON has no
such numbers.

    dumps({"a": "é"})   # compact UTF-8, as json.dumps(separators=(",", ":"),
                        # ensure_ascii=False).encode() writes it
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # a declared dependency; kept optional so a missing wheel only slows us
    orjson = None  # type: ignore[assignment]

__all__ = ["NotANumberError", "dumps", "loads"]

_PASSTHROUGH = (
    0 if orjson is None else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
"""Datetimes and dataclasses go to ``default`` as the standard library would send them."""


class NotANumberError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in a document: JSON has no such numbers."""


def _no_constant(name: str) -> Any:
    raise NotANumberError(f"{name} is not a JSON number")


_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
_LONG_DIGITS = re.compile(r"\d{19}")


def _long_digits(data: bytes | str) -> bool:
    """19 digits in a row: perhaps an integer beyond 64 bits, which orjson reads as a float
    (losing digits) where json keeps it exact; such a document (or one with a long digit
    string) goes to json. Bytes are searched as a translated copy, which is much faster than a
    regular expression over them."""
    if isinstance(data, str):
        return _LONG_DIGITS.search(data) is not None
    return _LONG_RUN in data.translate(_ZERO_DIGITS)


def dumps(obj: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON in UTF-8, non-ASCII kept as is; a float that is not finite (which JSON
    cannot carry; the standard library writes an invalid ``Infinity``) is written as null."""
    if orjson is not None:
        try:
            return orjson.dumps(obj, default=default, option=_PASSTHROUGH)
        except TypeError:  # orjson.JSONEncodeError: what it cannot write, json may
            pass
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=default).encode()


def loads(data: bytes | str) -> Any:
    """A JSON document; ``ValueError`` (``json.JSONDecodeError``, with its line and column) for
    one that is not, :class:`NotANumberError` for ``NaN`` and ``Infinity`` (RFC 8259 has no
    such numbers, the API refuses them, and :func:`dumps` could not write them back: orjson
    writes them as null), ``UnicodeDecodeError`` (a ``ValueError`` too) for bytes that are not
    valid in their encoding, the encoded lone surrogates included."""
    if orjson is not None and not _long_digits(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library decides, and words the error
    if isinstance(data, bytes | bytearray):
        # json.loads decodes bytes with "surrogatepass": the bytes of a lone surrogate (ED A0
        # 80), which are not UTF-8, would become a str no encoder can write back (a 500 when
        # the body is re-encoded); decoded strictly, they are a UnicodeDecodeError (ValueError)
        data = data.decode(json.detect_encoding(data))
    return json.loads(data, parse_constant=_no_constant)
