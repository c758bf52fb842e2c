"""Bad input never breaks the service: each mistake gets a 4xx in the Anthropic error shape that
names the problem, and random bodies never cause a 5xx (schemathesis: test_bad_input_openapi.py).

The ``anthropic-version`` header is not checked: the gateway speaks its own version upstream and
both SDK lines (2023-01-01 and 2023-06-01) must work, so a missing or unknown one is accepted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from error_shape import assert_anthropic_error, message_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

MAX_BODY = 4096


@pytest.fixture
async def http(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a dev-mode service whose body limit is ``MAX_BODY``."""
    async with (
        ServiceServer.for_emulator(emulator, tmp_path, dev=True, max_body_bytes=MAX_BODY) as svc,
        httpx.AsyncClient(base_url=svc.url) as client,
    ):
        yield client


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{", "body: malformed JSON (line 1, column 2"),
        (b'{"model": "claude-haiku-4-5",}', "body: malformed JSON"),
        (b'{"model": "\xff"}', "body: malformed JSON"),
        (b"", "body: expected a JSON object, got an empty body"),
        (b"[1, 2]", "body: expected a JSON object, got list"),
        (b'"hello"', "body: expected a JSON object, got str"),
        (b"null", "body: expected a JSON object, got NoneType"),
        (b"[" * 2000 + b"]" * 2000, "body: "),
    ],
)
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
async def test_unparseable_bodies_are_400s_naming_the_body(
    http: httpx.AsyncClient, path: str, raw: bytes, says: str
) -> None:
    r = await http.post(path, content=raw, headers={"content-type": "application/json"})
    assert says in assert_anthropic_error(r, 400, "invalid_request_error")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"max_tokens": "5"}, "max_tokens: input should be a valid integer"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"messages": "hi"}, "messages: input should be a valid list"),
        ({"messages": []}, "messages: at least one message is required"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": [{"type": "nope"}]}]}, "messages.0.content"),
        ({"temperature": 7}, "temperature"),
        ({"stream": "yes"}, "stream: input should be a valid boolean"),
        ({"model": 5}, "model"),
    ],
)
async def test_wrong_types_and_values_are_400s_naming_the_field(
    http: httpx.AsyncClient, change: dict[str, Any], says: str
) -> None:
    r = await http.post("/v1/messages", json={**message_body(), **change})
    assert says in assert_anthropic_error(r, 400, "invalid_request_error")


@pytest.mark.parametrize("missing", ["model", "max_tokens", "messages"])
async def test_missing_fields_are_400s_naming_the_field(
    http: httpx.AsyncClient, missing: str
) -> None:
    body = message_body()
    del body[missing]
    r = await http.post("/v1/messages", json=body)
    assert f"{missing}: field required" in assert_anthropic_error(r, 400, "invalid_request_error")


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
async def test_an_unknown_model_is_a_404_with_suggestions(
    http: httpx.AsyncClient, path: str
) -> None:
    r = await http.post(path, json=message_body(model="claude-sonet-4-5"))
    message = assert_anthropic_error(r, 404, "not_found_error")
    assert "claude-sonet-4-5" in message
    assert "Did you mean 'claude-sonnet-4-5'" in message


async def test_a_body_over_the_limit_is_a_413_by_content_length(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/messages", json=message_body("x" * MAX_BODY))
    message = assert_anthropic_error(r, 413, "request_too_large")
    assert f"limit of {MAX_BODY} bytes" in message


async def test_a_chunked_body_over_the_limit_is_a_413(http: httpx.AsyncClient) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted as it arrives
        for _ in range(8):
            sent.append(1)
            yield b" " * 1024

    r = await http.post("/v1/messages", content=chunks())
    assert "content-length" not in r.request.headers
    assert f"limit of {MAX_BODY} bytes" in assert_anthropic_error(r, 413, "request_too_large")


async def test_an_unknown_route_is_a_404_in_the_error_shape(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/complete", json=message_body())
    assert assert_anthropic_error(r, 404, "not_found_error")


async def test_a_wrong_method_is_a_405_in_the_error_shape(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/messages")
    assert assert_anthropic_error(r, 405, "invalid_request_error")
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("version", [None, "2023-01-01", "2023-06-01", "1999-12-31"])
async def test_any_anthropic_version_is_accepted(
    http: httpx.AsyncClient, version: str | None
) -> None:
    headers = {"anthropic-version": version} if version else {}
    r = await http.post("/v1/messages", json=message_body(), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "message"


async def test_a_models_limit_out_of_range_is_a_400(http: httpx.AsyncClient) -> None:
    for query in ("limit=0", "limit=100000", "limit=abc"):
        r = await http.get(f"/v1/models?{query}")
        assert "limit" in assert_anthropic_error(r, 400, "invalid_request_error")


# --- random bodies (hypothesis) ------------------------------------------------------------------
@pytest.fixture(scope="module")
def threaded_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceServer]:
    """A dev-mode service in its own thread (hypothesis drives it synchronously)."""
    with (
        EmulatorServer(speed=0) as emu,
        ServiceServer.for_emulator(
            emu, tmp_path_factory.mktemp("svc"), dev=True, max_body_bytes=MAX_BODY
        ) as svc,
    ):
        yield svc


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
FIELDS = ["model", "max_tokens", "messages", "system", "stream", "temperature", "tools",
          "tool_choice", "thinking", "metadata", "stop_sequences", "top_k", "top_p"]  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    """A valid body with random fields replaced, or any JSON value at all."""
    if draw(st.booleans()):
        return draw(json_values)
    body: dict[str, Any] = message_body()
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        body[name] = draw(json_values)
    return body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), path=st.sampled_from(["/v1/messages", "/v1/messages/count_tokens"]))
def test_random_bodies_never_cause_a_5xx(
    threaded_service: ServiceServer, body: Any, path: str
) -> None:
    raw = json.dumps(body).encode()
    r = httpx.post(
        threaded_service.url + path,
        content=raw,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    if r.status_code == 200:
        return
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500], raw[:500])
    assert_anthropic_error(r)
