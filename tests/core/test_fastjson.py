"""``core.wire.fastjson``: orjson's speed with the standard library's results. Every JSON value
round-trips the same either way, with or without orjson; what orjson refuses falls back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_arch.core.wire import fastjson
from claude_arch.errors import InvalidRequestError
from claude_arch.service.http.bodies import parse_json_object

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses those, json takes them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # any code point, lone surrogates excepted below
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 writer can
        return False
    return True


@pytest.fixture(params=["orjson", "stdlib"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: with orjson, and as the module runs without it."""
    if request.param == "stdlib":
        monkeypatch.setattr(fastjson, "orjson", None)
    return str(request.param)


@given(JSON_VALUES)
def test_dumps_reads_back_as_the_standard_library_reads_it(value: Any) -> None:
    if not encodable(value):
        return
    written = fastjson.dumps(value)
    assert json.loads(written) == value
    assert fastjson.loads(written) == value
    assert fastjson.loads(json.dumps(value)) == value


def test_both_ways_give_the_same_answers(mode: str) -> None:
    doc = {"é": [1, 2**70, 1.5, None, True, "\u2603"], "nested": {"k": ""}}
    assert fastjson.loads(fastjson.dumps(doc)) == doc
    assert fastjson.dumps({"a": "é"}) == '{"a":"é"}'.encode()
    assert fastjson.dumps({1: 2}) == b'{"1":2}'  # a non-string key: json's answer
    assert fastjson.loads(b'{"a": "\\ud800"}') == {"a": "\ud800"}  # json's: the caller checks


@pytest.mark.parametrize("text", ["[NaN]", '{"a": Infinity}', "[-Infinity]"])
def test_numbers_json_has_not_are_refused(mode: str, text: str) -> None:
    with pytest.raises(fastjson.NotANumberError, match="is not a JSON number"):
        fastjson.loads(text)
    named = r"body: malformed JSON \((NaN|-?Infinity) is not a JSON number\)"
    with pytest.raises(InvalidRequestError, match=named):
        parse_json_object(text)  # the service's 400 names the number


def test_malformed_json_gets_the_standard_librarys_error(mode: str) -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        fastjson.loads(b'{"a": 1,,}')
    assert (info.value.lineno, info.value.colno) == (1, 9)


def test_default_handles_what_json_cannot_write() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    when = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    out = json.loads(fastjson.dumps({"d": Decimal("0.10"), "t": when}, default=str))
    assert out == {"d": "0.10", "t": str(when)}  # as json.dumps(default=str) wrote them


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**19, 12345678901234567890123])
def test_integers_beyond_64_bits_are_read_exactly_from_bytes_and_text(
    mode: str, number: int
) -> None:
    text = f'{{"n": {number}, "s": "x"}}'
    assert fastjson.loads(text) == {"n": number, "s": "x"}
    assert fastjson.loads(text.encode()) == {"n": number, "s": "x"}
    assert fastjson.loads(f"[{number}]".encode()) == [number]


@pytest.mark.parametrize("raw", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"x\xed\xb2\x80y"])
def test_the_bytes_of_a_lone_surrogate_are_not_utf8(mode: str, raw: bytes) -> None:
    """The standard library decodes bytes with "surrogatepass", so these (not UTF-8) became a
    str no encoder could write back: a 500 when the service re-encoded such a body (found by
    tests/reliability). Refused as malformed, a 400 at the service."""
    body = b'{"a": "' + raw + b'"}'
    with pytest.raises(UnicodeDecodeError):
        fastjson.loads(body)
    with pytest.raises(InvalidRequestError, match="body: malformed JSON"):
        parse_json_object(body)
