"""The Cloud Functions under the real Functions Framework, with the emulator as upstream: JSON and
a real SSE stream, a Pub/Sub CloudEvent, a Cloud Tasks request, their retry contracts, bad input,
idempotency, and the key from Secret Manager."""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gcf_env import CloudFunction, cloud_event_headers
from gcp_fakes import fake_google
from lambda_env import CANARY_KEY, event

from claude_arch.testing import EmulatorServer

ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def ask_fn(
    emu: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudFunction]:
    log = tmp_path_factory.mktemp("gcf") / "ask.log"
    env = {
        "CLAUDE_ARCH_FUNCTION_CORS_ORIGINS": ORIGIN,
        "CLAUDE_ARCH_FUNCTION_MAX_BODY_BYTES": "4096",
    }
    with CloudFunction("ask", emu.url, log, api_key=CANARY_KEY, **env) as fn:
        yield fn
        assert CANARY_KEY not in fn.log()


def requests_made(emu: EmulatorServer) -> int:
    return int(emu.stats()["totals"].get("requests", 0))


# --- ask: JSON ------------------------------------------------------------------------------------
def test_ask_answers_json(ask_fn: CloudFunction) -> None:
    answer = ask_fn.post({"prompt": "Hello", "max_tokens": 64}, headers={"origin": ORIGIN})
    assert answer.status_code == 200
    body = answer.json()
    assert body["text"]
    assert body["usage"]["output_tokens"] > 0
    assert float(body["cost_usd"]) > 0
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    preflight = httpx.options(ask_fn.url, headers={"origin": ORIGIN})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ("", "body"),
        ('["a"]', "body"),
        ('{"max_tokens": 10}', "prompt"),
        ('{"promt": "hi"}', "promt"),
        ('{"prompt": "hi", "model": "claude-haiku-4-20250514"}', "model"),
        ('{"prompt": "hi", "stream": "yes"}', "stream"),
        (json.dumps({"prompt": "x" * 5000}), "body"),
    ],
)
def test_ask_bad_input_is_a_400_before_any_call(
    ask_fn: CloudFunction, emu: EmulatorServer, body: str, field: str
) -> None:
    before = requests_made(emu)
    answer = ask_fn.post(body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(f"{field}:")
    assert requests_made(emu) == before


def test_ask_get_is_refused(ask_fn: CloudFunction) -> None:
    answer = httpx.get(ask_fn.url)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("method:")


# --- ask: SSE -------------------------------------------------------------------------------------
def read_sse(response: httpx.Response) -> Iterator[tuple[str, Any, float]]:
    """(event, data, seconds since the request) for each event, as it arrives."""
    started = time.monotonic()
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield str(name), json.loads(line[6:]), time.monotonic() - started


def test_ask_streams_sse_event_by_event(emu: EmulatorServer, tmp_path: Path) -> None:
    # a paced emulator (its latency model at 1x) with a long answer: the events must arrive
    # spread out over its generation, not at once
    with EmulatorServer(api_keys=[CANARY_KEY], speed=1.0) as paced:
        paced.script(user="story", text=" ".join(f"word{i}" for i in range(300)))
        with (
            CloudFunction("ask", paced.url, tmp_path / "ask.log", api_key=CANARY_KEY) as fn,
            httpx.stream(
                "POST",
                fn.url,
                content=json.dumps(
                    {"prompt": "Tell me a story", "max_tokens": 1000, "stream": True}
                ),
                timeout=60,
            ) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = list(read_sse(response))
    names = [name for name, _, _ in events]
    assert names[-1] == "done"
    assert set(names[:-1]) == {"text"}
    assert len(names) > 10
    text = "".join(data["text"] for name, data, _ in events if name == "text")
    done = events[-1][1]
    assert text == done["text"]
    assert done["usage"]["output_tokens"] > 0
    assert float(done["cost_usd"]) > 0
    # a late start may send the first overdue chunks together, never the whole answer
    first_text, last_text = events[0][2], events[-2][2]
    assert last_text - first_text > 0.3


def test_a_stream_refused_before_it_starts_is_a_json_error(
    ask_fn: CloudFunction, emu: EmulatorServer
) -> None:
    # a retry-after beyond the function's time left: the client answers at once, no retry
    emu.set_faults({"kind": "429", "next_n": 5, "seconds": 300})
    try:
        answer = ask_fn.post({"prompt": "Hello", "stream": True})
    finally:
        emu.set_faults()
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "300"
    assert answer.json()["error"]["type"] == "rate_limit_error"


# --- on_pubsub ------------------------------------------------------------------------------------
def pubsub_event(body: Any, event_id: str = "11937796386101234") -> dict[str, Any]:
    ev: dict[str, Any] = copy.deepcopy(event("pubsub_cloudevent"))
    ev["id"] = event_id
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ev["data"]["message"]["data"] = base64.b64encode(raw).decode()
    ev["data"]["message"]["messageId"] = event_id
    return ev


def deliver(fn: CloudFunction, ev: dict[str, Any]) -> httpx.Response:
    return fn.post(json.dumps(ev["data"]), headers=cloud_event_headers(ev))


@pytest.fixture
def pubsub_fn(emu: EmulatorServer, tmp_path: Path) -> Iterator[CloudFunction]:
    env = {"CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": f"sqlite:///{tmp_path / 'once.db'}"}
    with CloudFunction("on_pubsub", emu.url, tmp_path / "ps.log", api_key=CANARY_KEY, **env) as fn:
        yield fn
        assert CANARY_KEY not in fn.log()


def test_a_pubsub_message_is_answered_once(pubsub_fn: CloudFunction, emu: EmulatorServer) -> None:
    ev = event("pubsub_cloudevent")  # the committed fixture, as Eventarc sends it
    before = requests_made(emu)
    assert deliver(pubsub_fn, ev).status_code == 200  # acknowledged
    assert deliver(pubsub_fn, ev).status_code == 200  # delivered again: no second call
    assert requests_made(emu) == before + 1
    records = pubsub_fn.log_records()
    answered = [r for r in records if r.get("message") == "answered"]
    assert [r["event_id"] for r in answered] == [ev["id"]]
    assert answered[0]["answer"]["text"]
    assert [r["event_id"] for r in records if r.get("message") == "answered before"] == [ev["id"]]


def test_a_throttled_message_is_delivered_again_and_a_bad_one_is_not(
    pubsub_fn: CloudFunction, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "529", "next_n": 1, "seconds": 3})
    throttled = deliver(pubsub_fn, pubsub_event({"prompt": "hi"}, "m-throttled"))
    assert throttled.status_code == 500  # an error: Pub/Sub delivers it again
    again = deliver(pubsub_fn, pubsub_event({"prompt": "hi"}, "m-throttled"))
    assert again.status_code == 200
    for bad, field in [(b"not json", "body"), ({"promt": "x"}, "promt")]:
        answer = deliver(pubsub_fn, pubsub_event(bad, f"m-bad-{field}"))
        assert answer.status_code == 200  # acknowledged: no retry can fix it
    records = pubsub_fn.log_records()
    handed = [r for r in records if r.get("message") == "handed back"]
    assert [(r["event_id"], r["status"]) for r in handed] == [("m-throttled", 529)]
    dropped = [
        (r["event_id"], r["field"]) for r in records if r.get("message") == "message dropped"
    ]
    assert dropped == [("m-bad-body", "body"), ("m-bad-promt", "promt")]


# --- on_task --------------------------------------------------------------------------------------
@pytest.fixture
def task_fn(emu: EmulatorServer, tmp_path: Path) -> Iterator[CloudFunction]:
    env = {"CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": f"sqlite:///{tmp_path / 'once.db'}"}
    with CloudFunction("on_task", emu.url, tmp_path / "t.log", api_key=CANARY_KEY, **env) as fn:
        yield fn


def run_task(fn: CloudFunction, body: Any = None, **headers: str) -> httpx.Response:
    task = event("cloud_tasks_request")
    return fn.post(task["body"] if body is None else body, headers={**task["headers"], **headers})


def test_a_cloud_task_is_answered_once(task_fn: CloudFunction, emu: EmulatorServer) -> None:
    before = requests_made(emu)
    first = run_task(task_fn)
    assert first.status_code == 200
    assert first.json()["text"]
    again = run_task(task_fn, **{"X-CloudTasks-TaskRetryCount": "1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert requests_made(emu) == before + 1
    answered = [r for r in task_fn.log_records() if r.get("message") == "task answered"]
    assert [(r["task"], r["retry_count"]) for r in answered] == [
        ("claude-jobs/01234567890123456789", "0"),
        ("claude-jobs/01234567890123456789", "1"),
    ]


def test_the_retry_contract_of_a_cloud_task(task_fn: CloudFunction, emu: EmulatorServer) -> None:
    emu.set_faults({"kind": "529", "next_n": 1, "seconds": 4})
    overloaded = run_task(task_fn, **{"X-CloudTasks-TaskName": "t-overloaded"})
    assert overloaded.status_code == 503  # Cloud Tasks honours Retry-After on 429 and 503
    assert 4 <= int(overloaded.headers["retry-after"]) <= 5
    emu.set_faults({"kind": "429", "next_n": 1, "seconds": 20})
    limited = run_task(task_fn, **{"X-CloudTasks-TaskName": "t-limited"})
    assert limited.status_code == 429
    assert 20 <= int(limited.headers["retry-after"]) <= 24
    # a task no retry can fix ends (2xx) with the error body, instead of being retried for ever
    bad = run_task(task_fn, {"promt": "x"}, **{"X-CloudTasks-TaskName": "t-bad"})
    assert bad.status_code == 200
    assert bad.headers["x-claude-arch-task"] == "dropped"
    assert bad.json()["error"]["message"].startswith("promt:")
    # not a Cloud Tasks request at all
    stray = httpx.post(task_fn.url, json={"prompt": "hi"})
    assert stray.status_code == 400
    assert stray.json()["error"]["message"].startswith("X-CloudTasks-TaskName:")


# --- the key from Secret Manager ------------------------------------------------------------------
def test_the_key_from_google_secret_manager(emu: EmulatorServer, tmp_path: Path) -> None:
    with fake_google() as google:
        google.secrets["projects/demo/secrets/anthropic"] = CANARY_KEY
        env = {
            "CLAUDE_ARCH_API_KEY_SECRET": "gcp-secretmanager:projects/demo/secrets/anthropic",
            "GCE_METADATA_HOST": google.host,
            "CLAUDE_ARCH_GCP_SECRETMANAGER_URL": google.url,
        }
        with CloudFunction("ask", emu.url, tmp_path / "k.log", api_key=None, **env) as fn:
            for _ in range(3):
                assert fn.post({"prompt": "Hello"}).status_code == 200
            assert CANARY_KEY not in fn.log()
        assert google.accesses == ["projects/demo/secrets/anthropic/versions/latest"]
