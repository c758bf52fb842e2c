"""Property: whatever a client sends, the emulator answers in the API's shape and never with a 5xx.

Complements ``test_emulator_fuzz.py`` (random JSON on /v1/messages) with what it does not reach:
near-valid requests where exactly one field is broken (so a 400 must name that field), tool
schemas, lone surrogates and huge numbers, the count_tokens and batches endpoints (down to the
batch's results), bytes that are not JSON, and odd headers sent over a raw socket.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5"
PATHS = ("/v1/messages", "/v1/messages/count_tokens")
HEADERS = {"x-api-key": "sk-ant-fuzz", "anthropic-version": "2023-06-01"}
BATCH_WAIT_S = 5.0
ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "request_too_large"}
FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Valid, and touching every part of the schema a mutation can break.
VALID: dict[str, Any] = {
    "model": HAIKU,
    "max_tokens": 64,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"c": "O"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                },
            ],
        },
    ],
    "tools": [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        }
    ],
    "tool_choice": {"type": "auto"},
    "stop_sequences": ["END"],
    "metadata": {"user_id": "u-1"},
    "temperature": 0.5,
}


# Fields of VALID that count_tokens does not take (the API refuses them there).
MESSAGES_ONLY = ("max_tokens", "stop_sequences", "metadata", "temperature")


def for_path(path: str, body: dict[str, Any], broken: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """``body`` as sent to ``path``: for count_tokens without the Messages-only fields, except
    the broken one (which count_tokens must then refuse by name)."""
    if not path.endswith("count_tokens"):
        return body
    return {k: v for k, v in body.items() if k not in MESSAGES_ONLY or broken[:1] == (k,)}


def _leaves(doc: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path into ``doc`` (dict keys and list indices), parents before children."""
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from _leaves(value, (*prefix, key))


VALID_PATHS = tuple(_leaves(VALID))

odd_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\ud800", "a\udfffb", "\x00", "é" * 3, "🙂", "x" * 5000]),
)
odd_numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=False, allow_infinity=False),
)
odd_values = st.recursive(
    st.none() | st.booleans() | odd_numbers | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=8,
)
schemas = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "nope"])},
        optional={
            "enum": st.lists(odd_values, max_size=3),
            "minimum": odd_numbers,
            "maximum": odd_numbers,
            "minLength": odd_numbers,
            "maxLength": odd_numbers,
            "pattern": st.sampled_from(["(", "^[a-z]+$", "\\", "[z-a]"]),
            "format": odd_text,
            "$ref": odd_text,
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {"type": st.sampled_from(["object", "array"])},
        optional={
            "properties": st.dictionaries(odd_text, inner, max_size=3),
            "required": st.lists(odd_text, max_size=3) | odd_values,
            "items": inner | odd_values,
            "minItems": odd_numbers,
            "maxItems": odd_numbers,
            "additionalProperties": st.booleans() | inner,
            "anyOf": st.lists(inner, max_size=2),
        },
    ),
    max_leaves=6,
)


@st.composite
def one_field_broken(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str | int, ...]]:
    """A copy of ``VALID`` with one field replaced, removed, retyped or gained a sibling."""
    body = copy.deepcopy(VALID)
    path = draw(st.sampled_from(VALID_PATHS))
    *parents, last = path
    holder: Any = body
    for key in parents:
        holder = holder[key]
    action = draw(st.sampled_from(["replace", "delete", "retype", "extra"]))
    if action == "delete":
        del holder[last]
    elif action == "retype" and isinstance(holder, dict) and "type" in holder:
        holder["type"] = draw(odd_text)
        path = (*parents, "type")
    elif action == "extra" and isinstance(holder, dict):
        key = draw(odd_text)
        holder[key] = draw(odd_values)
        if not parents:  # an unknown top-level field: the API refuses it by name
            path = (key,)
    else:
        holder[last] = draw(odd_values)
    return body, path


@st.composite
def bad_tools(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str | int, ...]]:
    """A valid request whose one tool has an arbitrary name, description and input schema."""
    tool = {
        "name": draw(st.sampled_from(["get_weather", "bad name", "", "x" * 200]) | odd_text),
        "description": draw(odd_text),
        "input_schema": draw(schemas | odd_values),
    }
    choice = draw(st.sampled_from([{"type": "any"}, {"type": "auto"}, {"type": "none"}]))
    return {**VALID, "tools": [tool], "tool_choice": choice}, ("tools",)


def _related(named: str, path: tuple[str | int, ...]) -> bool:
    """Whether the error's field and the broken one are the same, or one contains the other."""
    broken = ".".join(str(p) for p in path)
    return named == broken or named.startswith(broken + ".") or broken.startswith(named + ".")


def assert_api_shape(response: httpx.Response, broken: tuple[str | int, ...] | None = None) -> None:
    """No 5xx; every error in the API's shape; a 400 names the broken field (when known)."""
    assert response.status_code < 500, response.text[:500]
    rid = response.headers["request-id"]
    assert rid.startswith("req_01")
    if response.status_code < 400:
        return
    error = response.json()
    assert error["type"] == "error"
    assert error["request_id"] == rid
    assert error["error"]["type"] == ERROR_TYPES.get(response.status_code, "?"), error
    message = error["error"]["message"]
    assert isinstance(message, str)
    assert message
    if broken is not None and response.status_code == 400:
        named = message.split(":", 1)[0]
        field = ".".join(str(p) for p in broken)
        assert _related(named, broken) or message.startswith(field + ": "), (broken, message)


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit_tier="none", batch_seconds_per_request=0) as server:
        yield server


@pytest.fixture(scope="module")
def http(emu: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers=HEADERS, timeout=10) as client:
        yield client


def post_json(http: httpx.Client, path: str, body: Any) -> httpx.Response:
    # ensure_ascii keeps lone surrogates sendable, as \\udXXX escapes (valid JSON text).
    return http.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def test_the_valid_request_is_valid(http: httpx.Client) -> None:
    for path in PATHS:
        assert post_json(http, path, for_path(path, VALID)).status_code == 200


@FAST
@given(case=one_field_broken() | bad_tools(), path=st.sampled_from(PATHS))
@example(case=({**VALID, "system": "\ud800"}, ("system",)), path=PATHS[0])
@example(case=({**VALID, "system": "a\udfff"}, ("system",)), path=PATHS[1])
def test_one_broken_field_is_named(
    http: httpx.Client, case: tuple[dict[str, Any], tuple[str | int, ...]], path: str
) -> None:
    body, broken = case
    assert_api_shape(post_json(http, path, for_path(path, body, broken)), broken)


def _ended(http: httpx.Client, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + BATCH_WAIT_S
    while True:
        batch: dict[str, Any] = http.get(f"/v1/messages/batches/{batch_id}").json()
        if batch["processing_status"] == "ended" or time.monotonic() > deadline:
            return batch
        time.sleep(0.005)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cases=st.lists(one_field_broken() | bad_tools(), min_size=1, max_size=3),
    custom_id=st.sampled_from(["r", "r-1_A"]) | odd_text,
    envelope=st.sampled_from(["ok", "no_requests", "params_not_object", "requests_not_list"]),
)
def test_batches_answer_in_shape_down_to_their_results(
    http: httpx.Client,
    cases: list[tuple[dict[str, Any], tuple[str | int, ...]]],
    custom_id: str,
    envelope: str,
) -> None:
    requests: Any = [
        {"custom_id": f"{custom_id}{i}", "params": b} for i, (b, _) in enumerate(cases)
    ]
    if envelope == "no_requests":
        requests = []
    elif envelope == "params_not_object":
        requests[0]["params"] = [requests[0]["params"]]
    elif envelope == "requests_not_list":
        requests = {"custom_id": "r", "params": cases[0][0]}
    created = post_json(http, "/v1/messages/batches", {"requests": requests})
    assert_api_shape(created)
    if created.status_code != 200:
        return
    batch = _ended(http, created.json()["id"])
    assert batch["processing_status"] == "ended", batch
    results = http.get(f"/v1/messages/batches/{batch['id']}/results")
    assert results.status_code == 200
    lines = [json.loads(line) for line in results.text.splitlines()]
    broken = {f"{custom_id}{i}": path for i, (_, path) in enumerate(cases)}
    assert sorted(line["custom_id"] for line in lines) == sorted(broken)
    for line in lines:
        result = line["result"]
        assert result["type"] in ("succeeded", "errored"), result
        if result["type"] == "errored":
            error = result["error"]["error"]
            assert error["type"] in ("invalid_request_error", "not_found_error"), error
            if error["type"] == "invalid_request_error":
                named = error["message"].split(":", 1)[0]
                path = broken[line["custom_id"]]
                field = ".".join(str(p) for p in path)
                assert _related(named, path) or error["message"].startswith(field + ": "), error


not_json = st.one_of(
    st.binary(max_size=256),
    st.sampled_from(
        [
            b"",
            b"{",
            b'{"model": "claude-haiku-4-5",',
            b"[" * 5000,
            b'{"a":' * 5000,
            b'{"max_tokens": 1' + b"0" * 5000 + b"}",
            b"\xef\xbb\xbf{}",
            b"\xff\xfe{\x00}\x00",
            b'{"model": "\xff\xfe"}',
            b"null",
            b"nul",
            b'"just a string"',
        ]
    ),
    st.text(max_size=64).map(str.encode),
)


@FAST
@given(raw=not_json, path=st.sampled_from([*PATHS, "/v1/messages/batches"]))
def test_bytes_that_are_not_a_request_get_a_400(http: httpx.Client, raw: bytes, path: str) -> None:
    response = http.post(path, content=raw, headers={"content-type": "application/json"})
    assert_api_shape(response)
    assert response.status_code == 400, response.text[:300]


def raw_post(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    """POST over a plain socket, so header bytes reach the server exactly as given."""
    host, port = url.removeprefix("http://").split(":")
    head = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    head += b"Content-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


header_values = st.one_of(
    st.binary(min_size=1, max_size=40).filter(lambda b: not set(b) & set(b"\r\n\x00")),
    st.sampled_from(
        [b"sk-ant-\xff\xfe", b"\xc3\x28", b"2023-06-01, 2023-06-01", b" ", b"x" * 4000]
    ),
)


@FAST
@given(
    name=st.sampled_from(
        [b"x-api-key", b"authorization", b"anthropic-version", b"anthropic-beta", b"content-type"]
    ),
    value=header_values,
)
@example(name=b"x-api-key", value=b"\x80")
@example(name=b"authorization", value=b"Bearer \xff")
def test_odd_header_bytes_never_break_the_server(
    emu: EmulatorServer, name: bytes, value: bytes
) -> None:
    headers = {b"x-api-key": b"sk-ant-fuzz", b"anthropic-version": b"2023-06-01", name: value}
    body = json.dumps(
        {"model": HAIKU, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    )
    status, answer = raw_post(emu.url, list(headers.items()), body.encode())
    assert status < 500, answer[:300]
    if status == 400 and not answer.startswith(b"{"):
        # aiohttp's HTTP parser refused the header bytes before any route ran.
        assert b"Invalid header" in answer, answer[:300]
    elif status >= 400:
        error = json.loads(answer)
        assert error["type"] == "error"
        assert error["error"]["message"]


@FAST
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=st.sampled_from(["/v1/messages", "/v1/messages/batches", "/v1/models", "/v1/x"])
    | st.text(alphabet="abz019_-./%~", max_size=30).map(lambda p: "/v1/messages/batches/" + p),
)
def test_any_method_on_any_path_answers_in_shape(
    http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, path, content=b"{}")
    assert response.status_code < 500, response.text[:300]
    assert response.headers["request-id"].startswith("req_01")
    if response.status_code >= 400:
        assert response.json()["type"] == "error"
