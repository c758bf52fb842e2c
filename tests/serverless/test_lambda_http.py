"""The HTTP handler under the real Lambda runtime client, with the emulator as upstream."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lambda_env import CANARY_KEY, HTTP_HANDLER, LambdaFunction, body_of, event

from claude_arch.testing import EmulatorServer

ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def http_fn(
    emu: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LambdaFunction]:
    log = tmp_path_factory.mktemp("lambda") / "http.log"
    env = {
        "CLAUDE_ARCH_FUNCTION_CORS_ORIGINS": ORIGIN,
        "CLAUDE_ARCH_FUNCTION_MAX_BODY_BYTES": "4096",
    }
    with LambdaFunction(HTTP_HANDLER, emu.url, log, **env) as fn:
        yield fn
        assert CANARY_KEY not in fn.log()


def with_body(name: str, body: str | None, **changes: Any) -> dict[str, Any]:
    ev: dict[str, Any] = copy.deepcopy(event(name))
    ev["body"] = body
    ev["isBase64Encoded"] = False
    ev.update(changes)
    return ev


@pytest.mark.parametrize(
    ("fixture", "model"),
    [
        ("http_api_v2", "claude-haiku-4-5"),
        ("rest_api_v1", "claude-haiku-4-5"),
        ("function_url", "claude-sonnet-4-6"),
    ],
)
def test_each_http_event_shape_is_answered(
    http_fn: LambdaFunction, fixture: str, model: str
) -> None:
    result = http_fn.invoke(event(fixture))
    assert result.payload["statusCode"] == 200
    answer = body_of(result)
    assert answer["model"] == model
    assert answer["text"]
    assert answer["usage"]["output_tokens"] > 0
    assert float(answer["cost_usd"]) > 0
    assert answer["request_id"]


def test_cors_headers_for_allowed_origins_only(http_fn: LambdaFunction) -> None:
    allowed = http_fn.invoke(event("http_api_v2")).payload["headers"]
    assert allowed["access-control-allow-origin"] == ORIGIN
    other = http_fn.invoke(event("function_url")).payload["headers"]  # origin evil.example.net
    assert "access-control-allow-origin" not in other
    preflight = with_body("http_api_v2", None)
    preflight["requestContext"]["http"]["method"] = "OPTIONS"
    answer = http_fn.invoke(preflight).payload
    assert answer["statusCode"] == 204
    assert answer["headers"]["access-control-allow-methods"] == "POST, OPTIONS"


BAD_INPUT = [
    pytest.param({"hello": "world"}, "event", id="not-an-http-event"),
    pytest.param(["a", "list"], "event", id="event-not-an-object"),
    pytest.param(with_body("http_api_v2", "{not json"), "body", id="body-not-json"),
    pytest.param(with_body("rest_api_v1", None), "body", id="no-body"),
    pytest.param(with_body("http_api_v2", '"a string"'), "body", id="body-not-an-object"),
    pytest.param(with_body("http_api_v2", '{"max_tokens": 10}'), "prompt", id="missing-prompt"),
    pytest.param(with_body("http_api_v2", '{"prompt": 7}'), "prompt", id="prompt-not-a-string"),
    pytest.param(with_body("http_api_v2", '{"promt": "hi"}'), "promt", id="unknown-field"),
    pytest.param(
        with_body("http_api_v2", json.dumps({"prompt": "x" * 5000})), "body", id="oversize-body"
    ),
    pytest.param(
        with_body("http_api_v2", '{"prompt": "hi", "model": "claude-haiku-4-20250514"}'),
        "model",
        id="unknown-model",
    ),
    pytest.param(
        with_body("http_api_v2", '{"prompt": "hi", "max_tokens": 0}'), "max_tokens", id="max-tokens"
    ),
    pytest.param(
        with_body("http_api_v2", "bm90IGJhc2U2NA===", isBase64Encoded=True),
        "event.body",
        id="bad-base64",
    ),
    pytest.param(
        with_body("rest_api_v1", base64.b64encode(b"[1, 2]").decode(), isBase64Encoded=True),
        "body",
        id="base64-body-not-an-object",
    ),
]


@pytest.mark.parametrize(("payload", "field"), BAD_INPUT)
def test_bad_input_is_a_400_in_the_anthropic_shape(
    http_fn: LambdaFunction, emu: EmulatorServer, payload: Any, field: str
) -> None:
    before = emu.stats()["totals"]["requests"]
    result = http_fn.invoke(payload)
    assert result.payload["statusCode"] == 400
    body = body_of(result)
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(f"{field}:")
    assert body["request_id"] == result.request_id
    assert emu.stats()["totals"]["requests"] == before  # refused before any call


def test_warm_invocations_reuse_one_client(emu: EmulatorServer, tmp_path: Path) -> None:
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "warm.log") as fn:
        for _ in range(4):
            assert fn.invoke(event("http_api_v2")).payload["statusCode"] == 200
        records = fn.log_records()
        created = [r for r in records if r.get("message") == "claude client created"]
        assert len(created) == 1
        assert created[0]["cold_start"] is True
        calls = [r for r in records if "ClaudeCalls" in r]
        assert len(calls) == 4  # one metrics flush per invocation
        assert fn.process.poll() is None  # one execution environment served all four


def test_deadline_expiring_mid_call_is_answered_before_lambda_would_kill(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    env = {"CLAUDE_ARCH_FUNCTION_DEADLINE_MARGIN_S": "1.5"}
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "deadline.log", **env) as fn:
        emu.set_faults({"kind": "slow_first_byte", "seconds": 60, "next_n": 10})
        try:
            result = fn.invoke(event("http_api_v2"), timeout_s=4)
        finally:
            emu.set_faults()
        assert result.payload["statusCode"] == 504
        assert body_of(result)["error"]["type"] == "timeout_error"
        assert result.answered_ms < result.deadline_ms
        # the function is alive and answers the next event
        assert fn.invoke(event("http_api_v2")).payload["statusCode"] == 200


def test_upstream_rejecting_the_key_never_logs_it(emu: EmulatorServer, tmp_path: Path) -> None:
    with (
        EmulatorServer(api_keys=["sk-ant-some-other-key"]) as strict,
        LambdaFunction(HTTP_HANDLER, strict.url, tmp_path / "key.log") as fn,
    ):
        result = fn.invoke(event("http_api_v2"))
        log = fn.log()
    assert result.payload["statusCode"] == 502
    assert CANARY_KEY not in json.dumps(result.payload)
    assert CANARY_KEY not in log
    assert CANARY_KEY[-12:] not in log
