"""POST /v1/messages (JSON) and count_tokens over real HTTP: auth, versions, validation, replies."""

from __future__ import annotations

import random
from typing import Any

import httpx
import jsonschema
import pytest
from api_shapes import HAIKU, assert_error_shape, body, headers

from claude_arch.constants import API_VERSION_2X
from claude_arch.core.tokens import count_request, count_text
from claude_arch.emulator.answers.tool_input import input_for_schema
from claude_arch.testing import EmulatorServer

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 2},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 10},
            "where": {
                "type": "object",
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                "required": ["lat", "lon"],
            },
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        },
        "required": ["city", "unit", "where", "tags"],
    },
}


def test_create_returns_a_message_with_usage_and_headers(client: httpx.Client) -> None:
    r = client.post("/v1/messages", json=body())
    assert r.status_code == 200
    msg = r.json()
    assert msg["id"].startswith("msg_01")
    assert len(msg["id"]) == 28
    assert (msg["type"], msg["role"], msg["model"]) == ("message", "assistant", HAIKU)
    assert msg["stop_reason"] == "end_turn"
    assert msg["stop_sequence"] is None
    text = msg["content"][0]["text"]
    assert msg["usage"]["output_tokens"] == count_text(text)
    assert msg["usage"]["input_tokens"] == count_request(body())
    assert msg["usage"]["service_tier"] == "standard"
    assert r.headers["request-id"].startswith("req_01")
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        for part in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{kind}-{part}" in r.headers
    assert r.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert int(r.headers["anthropic-ratelimit-input-tokens-remaining"]) % 1000 == 0


@pytest.mark.parametrize(
    "auth",
    [
        {"x-api-key": "k1", "anthropic-version": "2023-06-01"},
        {"authorization": "Bearer k1", "anthropic-version": API_VERSION_2X},
    ],
)
def test_both_sdk_lines_auth_and_version(emu: EmulatorServer, auth: dict[str, str]) -> None:
    r = httpx.post(emu.url + "/v1/messages", json=body(), headers=auth)
    assert r.status_code == 200, r.text


def test_missing_key_and_unlisted_key_are_401_without_echo() -> None:
    with EmulatorServer(api_keys=["sk-good"]) as emu:
        r = httpx.post(emu.url + "/v1/messages", json=body(), headers={"anthropic-version": "x"})
        assert_error_shape(r, 401, "authentication_error")
        r = httpx.post(emu.url + "/v1/messages", json=body(), headers=headers("sk-secret-bad"))
        message = assert_error_shape(r, 401, "authentication_error")
        assert "sk-secret-bad" not in r.text
        assert "sk-secret-bad" not in message
        assert httpx.post(
            emu.url + "/v1/messages", json=body(), headers=headers("sk-good")
        ).is_success


def test_version_header_is_required_and_checked(emu: EmulatorServer) -> None:
    r = httpx.post(emu.url + "/v1/messages", json=body(), headers={"x-api-key": "k"})
    assert "anthropic-version" in assert_error_shape(r, 400, "invalid_request_error")
    bad = {"x-api-key": "k", "anthropic-version": "1999-01-01"}
    r = httpx.post(emu.url + "/v1/messages", json=body(), headers=bad)
    assert_error_shape(r, 400, "invalid_request_error")


@pytest.mark.parametrize(
    ("payload", "status", "etype", "fragment"),
    [
        (b"{not json", 400, "invalid_request_error", "invalid JSON"),
        (b"[1, 2]", 400, "invalid_request_error", "JSON object"),
        (b'{"model": NaN}', 400, "invalid_request_error", "NaN is not a JSON value"),
        (b'{"max_tokens": -Infinity}', 400, "invalid_request_error", "invalid JSON"),
        (
            body(content=[{"type": "foo"}]),
            400,
            "invalid_request_error",
            "messages.0.content.0.type",
        ),
        ({**body(), "max_tokens": 10**6}, 400, "invalid_request_error", "max_tokens"),
        (
            {**body(), "model": "claude-haiku-4-20250514"},
            404,
            "not_found_error",
            "claude-haiku-4-5",
        ),
        (
            {**body(), "tools": [{"name": "x", "input_schema": {"type": "string"}}]},
            400,
            "invalid_request_error",
            "tools.0.input_schema.type",
        ),
    ],
)
def test_bad_requests_get_the_error_shape_naming_the_field(
    client: httpx.Client, payload: Any, status: int, etype: str, fragment: str
) -> None:
    if isinstance(payload, bytes):
        r = client.post("/v1/messages", content=payload)
    else:
        r = client.post("/v1/messages", json=payload)
    assert fragment in assert_error_shape(r, status, etype)


def test_body_over_the_limit_is_413_before_reading() -> None:
    with EmulatorServer(max_request_bytes=1000) as emu:
        big = body(content="word " * 1000)
        r = httpx.post(emu.url + "/v1/messages", json=big, headers=headers())
        assert_error_shape(r, 413, "request_too_large")
        r = httpx.post(emu.url + "/v1/messages", json=body(), headers=headers())
        assert r.status_code == 200


def test_unknown_route_and_method_are_in_the_error_shape(client: httpx.Client) -> None:
    assert_error_shape(client.get("/v1/nothing"), 404, "not_found_error")
    assert_error_shape(client.get("/v1/messages"), 405, "invalid_request_error")


def test_replies_are_deterministic_and_key_order_does_not_matter(client: httpx.Client) -> None:
    a = client.post("/v1/messages", json=body("Same question")).json()
    reordered = dict(reversed(list(body("Same question").items())))
    b = client.post("/v1/messages", json=reordered).json()
    c = client.post("/v1/messages", json=body("Another question")).json()
    assert a["content"] == b["content"]
    assert a["id"] != b["id"]
    assert a["content"] != c["content"]


def test_non_deterministic_mode_varies() -> None:
    with EmulatorServer(deterministic=False) as emu, httpx.Client(headers=headers()) as http:
        texts = {
            http.post(emu.url + "/v1/messages", json=body()).json()["content"][0]["text"]
            for _ in range(3)
        }
        assert len(texts) == 3


def test_max_tokens_cuts_the_reply(client: httpx.Client) -> None:
    msg = client.post("/v1/messages", json={**body(), "max_tokens": 3}).json()
    assert msg["stop_reason"] == "max_tokens"
    assert msg["usage"]["output_tokens"] == 3 == count_text(msg["content"][0]["text"])


def test_stop_sequence_named_in_the_prompt_ends_the_reply(client: httpx.Client) -> None:
    payload = body("Answer, then write END when done", stop_sequences=["END"])
    msg = client.post("/v1/messages", json=payload).json()
    assert msg["stop_reason"] == "stop_sequence"
    assert msg["stop_sequence"] == "END"
    assert "END" not in msg["content"][0]["text"]
    assert msg["usage"]["output_tokens"] == count_text(msg["content"][0]["text"])


@pytest.mark.parametrize(
    ("choice", "prompt"),
    [
        ({"type": "any"}, "hi"),
        ({"type": "tool", "name": "get_weather"}, "hi"),
        (None, "Use get_weather"),
    ],
)
def test_tool_use_input_validates_against_schema(
    client: httpx.Client, choice: dict[str, Any] | None, prompt: str
) -> None:
    payload = body(prompt, tools=[WEATHER])
    if choice:
        payload["tool_choice"] = choice
    msg = client.post("/v1/messages", json=payload).json()
    assert msg["stop_reason"] == "tool_use"
    tool = msg["content"][-1]
    assert tool["type"] == "tool_use"
    assert tool["id"].startswith("toolu_01")
    jsonschema.validate(tool["input"], WEATHER["input_schema"])


def test_no_tool_without_reason_or_with_choice_none(client: httpx.Client) -> None:
    msg = client.post("/v1/messages", json=body("hi", tools=[WEATHER])).json()
    assert msg["stop_reason"] == "end_turn"
    payload = body("Use get_weather", tools=[WEATHER], tool_choice={"type": "none"})
    assert client.post("/v1/messages", json=payload).json()["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    ("prompt", "called"),
    [
        ("What tools do you have?", False),  # 'ls' inside a word
        ("anything else?", False),
        ("run ls please", True),
        ("(ls)", True),
        ("ls-colors is not ls", True),
        ("run ls-colors", False),
    ],
)
def test_auto_tool_use_needs_the_name_as_a_word(
    client: httpx.Client, prompt: str, called: bool
) -> None:
    tool = {"name": "ls", "input_schema": {"type": "object"}}
    msg = client.post("/v1/messages", json=body(prompt, tools=[tool])).json()
    assert (msg["stop_reason"] == "tool_use") is called


def test_generated_inputs_validate_for_many_seeds() -> None:
    for seed in range(300):
        jsonschema.validate(
            input_for_schema(random.Random(seed), WEATHER["input_schema"]), WEATHER["input_schema"]
        )


def test_thinking_block_comes_first_and_counts_as_output(client: httpx.Client) -> None:
    payload = body(max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048})
    msg = client.post("/v1/messages", json=payload).json()
    thinking, text = msg["content"]
    assert thinking["type"] == "thinking"
    assert thinking["signature"]
    expected = count_text(thinking["thinking"]) + count_text(text["text"])
    assert msg["usage"]["output_tokens"] == expected


def test_count_tokens_matches_usage(client: httpx.Client) -> None:
    payload = body("How many tokens is this?", system="Be brief.", tools=[WEATHER])
    counted = client.post(
        "/v1/messages/count_tokens", json={k: v for k, v in payload.items() if k != "max_tokens"}
    ).json()
    used = client.post("/v1/messages", json=payload).json()["usage"]["input_tokens"]
    assert counted == {"input_tokens": used}
    r = client.post("/v1/messages/count_tokens", json={"model": HAIKU, "messages": []})
    assert_error_shape(r, 400, "invalid_request_error")


def test_models_list_pages_and_retrieve_resolves_aliases(client: httpx.Client) -> None:
    everything = client.get("/v1/models", params={"limit": 1000}).json()
    ids = [m["id"] for m in everything["data"]]
    assert HAIKU in ids
    assert everything["has_more"] is False
    first = client.get("/v1/models", params={"limit": 2}).json()
    assert first["has_more"] is True
    assert first["last_id"] == ids[1]
    second = client.get("/v1/models", params={"limit": 2, "after_id": first["last_id"]}).json()
    assert [m["id"] for m in second["data"]] == ids[2:4]
    back = client.get("/v1/models", params={"limit": 2, "before_id": ids[2]}).json()
    assert [m["id"] for m in back["data"]] == ids[:2]
    assert back["has_more"] is False
    assert client.get("/v1/models/claude-haiku-4-5-20251001").json()["id"] == HAIKU
    assert_error_shape(client.get("/v1/models/claude-haiku-4"), 404, "not_found_error")
