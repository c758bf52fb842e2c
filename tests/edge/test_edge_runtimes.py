"""The edge's behaviour, the same cases under CPython (``claude-arch edge serve``) and under Pyodide
(the worker's entry.py in Node): auth, limits, cache, streaming, errors in the Anthropic shape.

Every refusal is checked to have been decided before the upstream saw anything: the relay in
front of the emulator counts what reaches it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import anthropic
import httpx
import pytest
from edge_backends import (
    ALLOWED_MODELS,
    CORS_ORIGIN,
    GATE_WORD,
    LIMITED_RPM,
    MAX_BODY_BYTES,
    MAX_TOKENS_CAP,
    EdgeKeys,
    GatedUpstream,
    RunningEdge,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.testing import EmulatorServer

MODEL = ALLOWED_MODELS[0]


def _too_deep() -> bytes:
    """A valid request but for ``metadata`` nested 200 arrays deep."""
    text = json.dumps({"model": MODEL, "max_tokens": 8, "metadata": "HERE", "messages": []})
    return text.replace('"HERE"', "[" * 200 + "]" * 200).encode()


def _params(text: str | None = None, **extra: Any) -> dict[str, Any]:
    prompt = text or f"edge test {uuid.uuid4().hex}"
    return {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }


def _post(edge: RunningEdge, secret: str | None, body: bytes | dict[str, Any], **headers: str):
    sent = {"content-type": "application/json", "anthropic-version": "2023-06-01", **headers}
    if secret is not None:
        sent["x-api-key"] = secret
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{edge.url}/v1/messages", content=content, headers=sent, timeout=30)


def _assert_refused(response: httpx.Response, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["request_id"] == response.headers["request-id"]
    return body


# --- auth ---------------------------------------------------------------------------------------


def test_a_service_key_authenticates_by_header_and_bearer(
    edge: RunningEdge, edge_keys: EdgeKeys
) -> None:
    by_header = _post(edge, edge_keys.unlimited, _params())
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["type"] == "message"
    bearer = _post(edge, None, _params(), authorization=f"Bearer {edge_keys.unlimited}")
    assert bearer.status_code == 200, bearer.text


def test_keys_are_salted_at_the_edge_and_older_plain_ones_still_work(
    edge: RunningEdge, edge_keys: EdgeKeys
) -> None:
    lookup = edge_keys.unlimited[len("sk-ca-") : len("sk-ca-") + 16]
    entry = json.loads(edge_keys.kv_entries["key:key_" + lookup])
    assert entry["secret_hash"].startswith("s1$")  # salted, found by the key's id
    assert not any(edge_keys.unlimited[-43:] in value for value in edge_keys.kv_entries.values())
    legacy = _post(edge, edge_keys.legacy, _params())
    assert legacy.status_code == 200, legacy.text


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (None, "missing API key"),
        ("sk-ca-" + "x" * 43, "invalid API key"),
        ("not-a-key", "invalid API key"),
        ("revoked", "has been revoked"),
        ("forged", "invalid API key"),
    ],
)
def test_missing_wrong_and_revoked_keys_are_401_before_upstream(
    edge: RunningEdge, edge_keys: EdgeKeys, upstream: GatedUpstream, secret: str | None, says: str
) -> None:
    # forged: names a real key's id (the lookup part) with a wrong random part
    forged = edge_keys.unlimited[:-43] + ("B" if edge_keys.unlimited[-1] != "B" else "C") * 43
    sent = {"revoked": edge_keys.revoked, "forged": forged}.get(secret or "", secret)
    before = upstream.requests
    body = _assert_refused(_post(edge, sent, _params()), 401, "authentication_error")
    assert says in body["error"]["message"]
    if sent:
        assert sent not in json.dumps(body)
    assert upstream.requests == before


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        (b"\xff\xfe{}", 400, "invalid_request_error", "UTF-8"),
        (b'{"model": ', 400, "invalid_request_error", "not valid JSON"),
        (b"[1, 2]", 400, "invalid_request_error", "JSON object"),
        (json.dumps(_params(model="claude-haiku-4-20250514")).encode(), 404, "not_found_error",
         "'claude-haiku-4-5'"),
        (json.dumps(_params(model="claude-opus-4-5")).encode(), 403, "permission_error",
         "not allowed"),
        (json.dumps(_params(max_tokens=MAX_TOKENS_CAP + 1)).encode(), 400,
         "invalid_request_error", "the most this edge allows"),
        (json.dumps(_params(max_tokens="5")).encode(), 400, "invalid_request_error", "max_tokens"),
        (json.dumps({"model": MODEL, "max_tokens": 8, "messages": []}).encode(), 400,
         "invalid_request_error", "messages"),
        (_too_deep(), 400, "invalid_request_error", "nests"),
        (b" " * (MAX_BODY_BYTES + 1), 413, "request_too_large", str(MAX_BODY_BYTES)),
    ],
    ids=["not-utf8", "malformed", "not-object", "unknown-model", "disallowed-model",
         "over-cap", "max-tokens-type", "no-messages", "too-deep", "oversize"],
)  # fmt: skip
def test_bad_input_is_refused_in_the_anthropic_shape_before_upstream(
    edge: RunningEdge,
    edge_keys: EdgeKeys,
    upstream: GatedUpstream,
    case: tuple[bytes, int, str, str],
) -> None:
    body, status, error_type, says = case
    before = upstream.requests
    refused = _assert_refused(_post(edge, edge_keys.unlimited, body), status, error_type)
    assert says in refused["error"]["message"]
    assert upstream.requests == before


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    model=st.one_of(st.text(max_size=30), st.sampled_from(["claude-opus-5", "claude-haiku-4"])),
    max_tokens=st.one_of(
        st.integers(max_value=0), st.integers(min_value=MAX_TOKENS_CAP + 1), st.text(max_size=5)
    ),
)
def test_no_invalid_model_or_max_tokens_reaches_upstream(
    edge: RunningEdge, edge_keys: EdgeKeys, upstream: GatedUpstream, model: str, max_tokens: object
) -> None:
    before = upstream.requests
    response = _post(edge, edge_keys.unlimited, _params(model=model, max_tokens=max_tokens))
    assert response.status_code in (400, 403, 404), response.text
    assert response.json()["error"]["type"] in (
        "invalid_request_error",
        "permission_error",
        "not_found_error",
    )
    assert upstream.requests == before


# --- limits -------------------------------------------------------------------------------------


def test_a_keys_rpm_is_enforced_with_the_limit_headers(
    edge: RunningEdge, edge_keys: EdgeKeys, upstream: GatedUpstream
) -> None:
    remaining = []
    for _ in range(LIMITED_RPM):
        ok = _post(edge, edge_keys.limited, _params(), **{"cache-control": "no-store"})
        assert ok.status_code == 200, ok.text
        assert ok.headers["anthropic-ratelimit-requests-limit"] == str(LIMITED_RPM)
        remaining.append(int(ok.headers["anthropic-ratelimit-requests-remaining"]))
    assert remaining == list(range(LIMITED_RPM - 1, -1, -1))
    before = upstream.requests
    refused = _post(edge, edge_keys.limited, _params())
    body = _assert_refused(refused, 429, "rate_limit_error")
    assert f"{LIMITED_RPM} requests per minute" in body["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert upstream.requests == before
    # another key is not held back by this one's limit
    assert _post(edge, edge_keys.unlimited, _params()).status_code == 200


# --- cache --------------------------------------------------------------------------------------


def test_the_same_request_is_answered_from_the_cache(
    edge: RunningEdge, edge_keys: EdgeKeys, upstream: GatedUpstream
) -> None:
    params = _params()
    first = _post(edge, edge_keys.unlimited, params)
    assert first.headers["claude-arch-cache"] == "miss"
    before = upstream.requests
    # the same JSON, keys in another order: the same entry
    second = _post(edge, edge_keys.unlimited, json.dumps(dict(reversed(params.items()))).encode())
    assert second.status_code == 200
    assert second.headers["claude-arch-cache"] == "hit"
    assert second.json() == first.json()
    assert upstream.requests == before
    # asked not to, the edge goes upstream and stores nothing
    bypass = _post(edge, edge_keys.unlimited, params, **{"cache-control": "no-store"})
    assert "claude-arch-cache" not in bypass.headers
    assert upstream.requests == before + 1


def test_the_cache_is_per_key_and_never_holds_streams(
    edge: RunningEdge, edge_keys: EdgeKeys, emulator: EmulatorServer, upstream: GatedUpstream
) -> None:
    params = _params()
    assert _post(edge, edge_keys.unlimited, params).headers["claude-arch-cache"] == "miss"
    other = _post(edge, edge_keys.limited, params)
    if other.status_code == 200:  # the limited key may have spent its minute already
        assert other.headers["claude-arch-cache"] == "miss"
    before = upstream.requests
    with anthropic.Anthropic(
        base_url=edge.url, api_key=edge_keys.unlimited, max_retries=0
    ) as client:
        for _ in range(2):
            with client.messages.stream(**params) as stream:
                stream.get_final_message()
    assert upstream.requests == before + 2


# --- streaming ----------------------------------------------------------------------------------


def test_the_sdk_stream_helper_works_through_the_edge(
    edge: RunningEdge, edge_keys: EdgeKeys, emulator: EmulatorServer
) -> None:
    word = uuid.uuid4().hex
    emulator.script(user=word, text=f"streamed through the edge: {word}")
    with (
        anthropic.Anthropic(
            base_url=edge.url, api_key=edge_keys.unlimited, max_retries=0
        ) as client,
        client.messages.stream(**_params(f"say {word}")) as stream,
    ):
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert message.content[0].text == f"streamed through the edge: {word}"
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds


def test_stream_events_pass_through_one_by_one(
    edge: RunningEdge, edge_keys: EdgeKeys, upstream: GatedUpstream
) -> None:
    """The upstream holds its stream after the first delta; the client sees that delta before
    the gate opens, so the edge buffered nothing."""
    upstream.gate.clear()
    headers = {"x-api-key": edge_keys.unlimited, "anthropic-version": "2023-06-01"}
    params = _params(f"{GATE_WORD} {uuid.uuid4().hex}", stream=True)
    events: list[str] = []
    with httpx.stream(
        "POST", f"{edge.url}/v1/messages", json=params, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data:"):
                events.append(line)
                if "before the gate" in line:
                    break
        assert not upstream.gate.is_set()
        upstream.gate.set()
        events.extend(line for line in lines if line.startswith("data:"))
    assert "before the gate" in events[2]
    assert "after it" in events[3]
    assert json.loads(events[-1][len("data:") :])["type"] == "message_stop"


# --- routes, CORS, upstream refusals -----------------------------------------------------------


def test_cors_preflight_and_exposed_headers(edge: RunningEdge, edge_keys: EdgeKeys) -> None:
    preflight = httpx.options(
        f"{edge.url}/v1/messages",
        headers={
            "origin": CORS_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-api-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "x-api-key" in preflight.headers["access-control-allow-headers"]
    answer = _post(edge, edge_keys.unlimited, _params(), origin=CORS_ORIGIN)
    assert answer.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "request-id" in answer.headers["access-control-expose-headers"]
    stranger = _post(edge, edge_keys.unlimited, _params(), origin="https://other.example.net")
    assert "access-control-allow-origin" not in stranger.headers


def test_unknown_routes_and_methods(edge: RunningEdge) -> None:
    assert httpx.get(f"{edge.url}/healthz").json() == {"status": "ok"}
    _assert_refused(httpx.get(f"{edge.url}/v1/nothing"), 404, "not_found_error")
    _assert_refused(httpx.get(f"{edge.url}/v1/messages"), 405, "invalid_request_error")


def test_an_upstream_refusing_the_edges_key_is_a_502_not_a_401(
    edge: RunningEdge, edge_keys: EdgeKeys, emulator: EmulatorServer
) -> None:
    word = uuid.uuid4().hex
    emulator.add_rule(
        {
            "match": {"user": word},
            "reply": {"error": {"status": 401, "type": "authentication_error"}},
        }
    )
    refused = _post(edge, edge_keys.unlimited, _params(f"refuse {word}"))
    body = _assert_refused(refused, 502, "api_error")
    assert "upstream credentials" in body["error"]["message"]


def test_count_tokens_is_checked_and_passed_on(edge: RunningEdge, edge_keys: EdgeKeys) -> None:
    params = {"model": MODEL, "messages": [{"role": "user", "content": "count me"}]}
    headers = {"x-api-key": edge_keys.unlimited, "anthropic-version": "2023-06-01"}
    answer = httpx.post(f"{edge.url}/v1/messages/count_tokens", json=params, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["input_tokens"] > 0
    refused = httpx.post(
        f"{edge.url}/v1/messages/count_tokens",
        json={**params, "model": "claude-opus-5"},
        headers=headers,
    )
    _assert_refused(refused, 403, "permission_error")
