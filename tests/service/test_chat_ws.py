"""/v1/chat/ws: many turns on one socket, reconnects, cancel, disconnect, heartbeats, bad frames."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from chat_server import chat_service, key_id_of, seconds_until, sessions, slow_emulator
from log_capture import CapturedLogs, json_logs
from upstream_watch import until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from claude_arch.core.tokens import count_request
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@pytest.fixture
async def svc(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[ServiceServer]:
    async with chat_service(emulator, tmp_path, max_retries=0, heartbeat_s=60) as server:
        yield server


@pytest.fixture
async def slow(tmp_path: Path) -> AsyncIterator[tuple[EmulatorServer, ServiceServer]]:
    """A paced emulator with a long answer: turns last long enough to cancel."""
    async with slow_emulator() as emulator, chat_service(emulator, tmp_path) as server:
        yield emulator, server


def ws_url(server: ServiceServer, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/v1/chat/ws" + query


async def receive(ws: ClientConnection, *, skip_pings: bool = True) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if not (skip_pings and frame["type"] == "ping"):
            return frame


async def turn(ws: ClientConnection, text: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """Send a user frame; the answer's text and the final frame (done or error)."""
    await ws.send(json.dumps({"type": "user", "text": text, **extra}))
    parts: list[str] = []
    while (frame := await receive(ws))["type"] == "delta":
        parts.append(frame["text"])
    return "".join(parts), frame


async def test_many_turns_on_one_socket_share_a_session(svc: ServiceServer) -> None:
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        first_text, first = await turn(ws, "My name is Ada.")
        second_text, second = await turn(ws, "What is my name?")
    assert first["type"] == second["type"] == "done"
    assert first_text
    assert second_text
    assert first["session_id"] == second["session_id"]
    assert float(second["cost_usd"]) > 0
    stored = await sessions(svc).get(first["session_id"], await key_id_of(svc, key))
    assert stored.messages[1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": first_text}],
    }
    sent = [*stored.turns[0], {"role": "user", "content": "What is my name?"}]
    assert second["usage"]["input_tokens"] == count_request({"messages": sent})


async def test_a_reconnecting_client_continues_its_session(svc: ServiceServer) -> None:
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        _, first = await turn(ws, "Remember 42.")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        _, again = await turn(ws, "What number?", session_id=first["session_id"])
    assert again["session_id"] == first["session_id"]
    stored = await sessions(svc).get(first["session_id"], await key_id_of(svc, key))
    assert [m["content"] for m in stored.messages if m["role"] == "user"] == [
        "Remember 42.",
        "What number?",
    ]


async def test_the_key_may_come_as_a_subprotocol_or_a_query_parameter(svc: ServiceServer) -> None:
    key = await svc.create_key("browser")
    protocols: Any = ["claude-arch.v1", f"claude-arch.key.{key}"]
    async with connect(ws_url(svc), subprotocols=protocols) as ws:
        assert ws.subprotocol == "claude-arch.v1"  # echoed; the key protocol never is
        _, done = await turn(ws, "hi")
        assert done["type"] == "done"
    async with connect(ws_url(svc, f"?key={key}")) as ws:
        _, done = await turn(ws, "hi")
        assert done["type"] == "done"


@pytest.mark.parametrize("secret", [None, "sk-ca-wrong"])
async def test_a_bad_key_gets_an_error_frame_and_close_4401(
    svc: ServiceServer, secret: str | None
) -> None:
    headers = {"x-api-key": secret} if secret else {}
    async with connect(ws_url(svc), additional_headers=headers) as ws:
        frame = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert frame["type"] == "error"
    assert frame["error"]["type"] == "authentication_error"
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4401


BAD_FRAMES: list[tuple[str | bytes, str]] = [
    ("{not json", "frame: not valid JSON"),
    ("[1, 2]", "frame: expected a JSON object, got list"),
    ('"user"', "frame: expected a JSON object, got str"),
    ('{"text": "hi"}', "type: missing"),
    ('{"type": "shout"}', "type: unknown frame type 'shout'"),
    ('{"type": "user"}', "text: Field required"),
    ('{"type": "user", "text": ""}', "text: String should have at least 1 character"),
    ('{"type": "user", "text": 7}', "text: Input should be a valid string"),
    (json.dumps({"type": "user", "text": "x" * 100_001}), "text: String should have at most"),
    ('{"type": "user", "text": "hi", "colour": 1}', "colour: unknown field"),
    ('{"type": "user", "text": "hi", "max_tokens": -1}', "max_tokens: Input should be greater"),
    ("x" * 400_001, "frame: longer than 400000 characters"),
    (b"\x00\x01", "frame: binary frames are not supported"),
]


async def test_each_bad_frame_gets_an_error_frame_and_the_socket_stays_usable(
    svc: ServiceServer,
) -> None:
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        for raw, message in BAD_FRAMES:
            await ws.send(raw)
            frame = await receive(ws)
            assert frame["type"] == "error", raw[:40]
            assert frame["error"]["type"] == "invalid_request_error"
            assert frame["error"]["message"].startswith(message), frame
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}
        _, done = await turn(ws, "still here?")
        assert done["type"] == "done"


async def test_an_unknown_or_foreign_session_is_an_error_frame(svc: ServiceServer) -> None:
    alice, bob = await svc.create_key("alice"), await svc.create_key("bob")
    async with connect(ws_url(svc), additional_headers={"x-api-key": alice}) as ws:
        _, mine = await turn(ws, "private")
    async with connect(ws_url(svc), additional_headers={"x-api-key": bob}) as ws:
        for session_id in (mine["session_id"], "sess_unknown"):
            _, frame = await turn(ws, "peek", session_id=session_id)
            assert frame["type"] == "error"
            assert frame["error"]["type"] == "not_found_error"
        _, done = await turn(ws, "my own")
        assert done["session_id"] != mine["session_id"]


async def test_an_upstream_failure_is_an_error_frame_and_the_socket_goes_on(
    svc: ServiceServer, emulator: EmulatorServer
) -> None:
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        emulator.set_faults({"kind": "529", "model": "*", "next_n": 1})
        _, failed = await turn(ws, "hi")
        assert failed["type"] == "error"
        assert failed["error"]["type"] == "overloaded_error"
        emulator.set_faults(
            {"kind": "mid_stream_error", "model": "*", "next_n": 1, "after_deltas": 1}
        )
        partial, broken = await turn(ws, "again")
        assert broken["error"]["type"] == "overloaded_error"
        assert partial
        text, done = await turn(ws, "and again")
        assert done["type"] == "done"
        assert text
    # the failure mid-stream kept what was seen; the refused turn kept nothing
    stored = await sessions(svc).get(done["session_id"], await key_id_of(svc, key))
    assert [m["content"] for m in stored.messages if m["role"] == "user"] == ["again", "and again"]


async def test_a_user_frame_during_a_turn_is_refused(
    slow: tuple[EmulatorServer, ServiceServer],
) -> None:
    _, svc = slow
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        await ws.send(json.dumps({"type": "user", "text": "long answer please"}))
        assert (await receive(ws))["type"] == "delta"
        await ws.send(json.dumps({"type": "user", "text": "me too"}))
        while (frame := await receive(ws))["type"] == "delta":
            pass
        assert frame["type"] == "error"
        assert frame["error"]["message"] == "a turn is in progress; send cancel first"
        await ws.send(json.dumps({"type": "cancel"}))
        while (frame := await receive(ws))["type"] == "delta":
            pass
        assert frame["type"] == "done"


async def test_cancel_stops_upstream_within_100_ms_and_says_done(
    slow: tuple[EmulatorServer, ServiceServer],
) -> None:
    emulator, svc = slow
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        await ws.send(json.dumps({"type": "user", "text": "long answer please"}))
        seen = [(await receive(ws))["text"]]
        await ws.send(json.dumps({"type": "cancel"}))
        took = await seconds_until(lambda: emulator.stats()["stream_stop_ms"])
        while (frame := await receive(ws))["type"] == "delta":
            seen.append(frame["text"])
        assert frame["type"] == "done"
        assert frame["cancelled"] is True
        assert frame["usage"]["output_tokens"] > 0
        # the socket goes on, in the same session
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}
    assert took < 0.1
    stored = await sessions(svc).get(frame["session_id"], await key_id_of(svc, key))
    assert stored.messages[-1]["content"][0]["text"] == "".join(seen)  # what the user saw


async def test_a_disconnect_stops_upstream_within_100_ms(
    slow: tuple[EmulatorServer, ServiceServer],
) -> None:
    emulator, svc = slow
    key = await svc.create_key("ws")
    async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
        await ws.send(json.dumps({"type": "user", "text": "long answer please"}))
        assert (await receive(ws))["type"] == "delta"
        closed = time.monotonic()
        await ws.close()
    await seconds_until(lambda: emulator.stats()["stream_stop_ms"])
    assert time.monotonic() - closed < 0.1


async def test_heartbeat_pings_arrive(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with chat_service(emulator, tmp_path, heartbeat_s=0.05) as svc:
        key = await svc.create_key("ws")
        async with connect(ws_url(svc), additional_headers={"x-api-key": key}) as ws:
            started = time.monotonic()
            assert json.loads(await ws.recv()) == {"type": "ping"}
            assert json.loads(await ws.recv()) == {"type": "ping"}
            assert time.monotonic() - started < 2


async def test_a_peer_that_stops_answering_pings_is_dropped_and_its_turn_stopped(
    tmp_path: Path,
) -> None:
    """A client gone without closing (a dropped network) answers no protocol-level ping: the
    server drops it within two heartbeats and stops the turn's upstream call, where TCP alone
    could take many minutes to notice."""
    async with (
        slow_emulator() as emulator,
        chat_service(emulator, tmp_path, heartbeat_s=0.2) as svc,
    ):
        key = await svc.create_key("ws")
        with json_logs() as logs:
            async with connect(
                ws_url(svc), additional_headers={"x-api-key": key}, ping_interval=None
            ) as ws:
                await ws.send(json.dumps({"type": "user", "text": "long answer please"}))
                assert (await receive(ws))["type"] == "delta"
                ws.transport.pause_reading()  # from now on this peer reads nothing, answers nothing
                await seconds_until(lambda: emulator.stats()["stream_stop_ms"], limit_s=10)
                await until(
                    lambda: any(a["method"] == "WEBSOCKET" for a in access(logs)), timeout_s=5
                )
                ws.transport.resume_reading()
        (line,) = [a for a in access(logs) if a["method"] == "WEBSOCKET"]
        assert line["status"] == 101


async def test_error_frames_name_the_sockets_request_id_and_the_socket_gets_an_access_line(
    svc: ServiceServer, emulator: EmulatorServer
) -> None:
    """The id in an error frame is the one in the socket's log lines (its turns' and its access
    line), so a frame a user reports leads to what the service logged."""
    key = await svc.create_key("ws-ids")
    emulator.set_faults({"kind": "500", "model": "*", "next_n": 1})
    with json_logs() as logs:
        async with connect(
            ws_url(svc), additional_headers={"x-api-key": key, "x-request-id": "req-test-ws-ids"}
        ) as ws:
            await ws.send("{not json")
            bad = await receive(ws)
            _, failed = await turn(ws, "this one fails upstream")
            _, done = await turn(ws, "and this one works")
        await until(lambda: any(a["method"] == "WEBSOCKET" for a in access(logs)), timeout_s=5)
    assert bad["type"] == "error"
    assert failed["type"] == "error"
    assert done["type"] == "done"
    assert bad["request_id"] == failed["request_id"] == "req-test-ws-ids"
    calls = [c for c in logs.lines() if c["logger"] == "claude_arch.service.calls"]
    assert [c["request_id"] for c in calls] == ["req-test-ws-ids"] * 2
    assert calls[0]["error_type"] is not None
    (line,) = [a for a in access(logs) if a["method"] == "WEBSOCKET"]
    assert (line["path"], line["status"], line["request_id"]) == (
        "/v1/chat/ws",
        101,
        "req-test-ws-ids",
    )
    assert line["key_id"] == (await svc.gateway.keys.authenticate(key)).id
    assert line["duration_ms"] > 0


def access(logs: CapturedLogs) -> list[dict[str, Any]]:
    return [line for line in logs.lines() if line["logger"] == "claude_arch.service.access"]
