"""A client that hangs up while its request waits on the upstream cancels that upstream call at
once, under the service's own uvicorn protocol (:class:`HangupProtocol`: the server calls the
request's :class:`Hangup` from ``connection_lost``, no watcher task) and under any other one
(uvicorn's h11 here: :func:`watch_hangup` falls back to a task reading ``http.disconnect``).

Each hang-up is timed at the emulator (its handler cancelled, :mod:`upstream_watch`), and each test
first checks which of the two paths the live request is on, so neither passes on the other's back.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from error_shape import message_body
from log_capture import CapturedLogs, json_logs
from upstream_watch import UpstreamWatch, until
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from claude_arch.service.config import ServiceSettings
from claude_arch.service.http.hangup import (
    HANGUP,
    Hangup,
    HangupProtocol,
    http_protocol,
    watch_hangup,
)
from claude_arch.service.http.server import uvicorn_config
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

CANCEL_WITHIN_S = 0.100  # the upstream would answer after 30 s
PROTOCOLS = ["default", "h11"]
KINDS = {"json": {}, "stream": {"stream": True}}


def service_on(
    emu: EmulatorServer, tmp_path: Path, protocol: str, **settings: Any
) -> ServiceServer:
    """The dev service in front of ``emu``: uvicorn with the service's protocol ("default"), or
    with uvicorn's h11 protocol passed as an override."""
    values: dict[str, Any] = {
        "base_url": emu.url,
        "api_key": emu.api_key,
        "data_dir": tmp_path,
        "port": 0,
        "rate_limit_tier": "none",
        "dev": True,
        "shutdown_grace_s": 1,  # a test that fails leaves a call waiting 30 s: do not wait it out
        **settings,
    }
    config = ServiceSettings(_env_file=None, **values)
    return ServiceServer(config) if protocol == "default" else ServiceServer(config, http="h11")


def assert_watched_by(svc: ServiceServer, protocol: str) -> list[Hangup]:
    """The live requests are on the path ``protocol`` should take: under the default protocol,
    each has a :class:`Hangup` the app is listening on; under h11, none has one. Returns them."""
    assert svc.server is not None
    live: list[Any] = list(svc.server.server_state.connections)
    connections = [c for c in live if c.cycle is not None]
    assert connections
    hangups = []
    for connection in connections:
        extension = connection.cycle.scope.get("extensions", {}).get(HANGUP)
        if protocol == "default":
            assert type(connection) is HangupProtocol
            assert isinstance(extension, Hangup)
            assert extension.callback is not None  # until_disconnected is listening on it
            assert not extension.happened
            hangups.append(extension)
        else:
            assert type(connection) is H11Protocol
            assert extension is None
    return hangups


def access_lines(logs: CapturedLogs) -> list[dict[str, Any]]:
    return [line for line in logs.lines() if line["logger"] == "claude_arch.service.access"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_hangs_up_while_the_upstream_works_stops_it_within_100_ms(
    late_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path, protocol: str, kind: str
) -> None:
    """JSON, or a stream before its first token: the same cancellation, under both protocols."""
    with json_logs() as logs:
        async with (
            service_on(late_upstream, tmp_path, protocol) as svc,
            httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
        ):
            body = message_body("late", **KINDS[kind])
            call = asyncio.create_task(http.post("/v1/messages", json=body))
            await until(lambda: bool(watch.started))
            hangups = assert_watched_by(svc, protocol)
            hung_up = time.monotonic()
            call.cancel()  # closes the client's connection before any byte came back
            await asyncio.gather(call, return_exceptions=True)
            await until(lambda: bool(watch.stopped), timeout_s=5)
            assert watch.stopped[0] - hung_up <= CANCEL_WITHIN_S, watch.stopped[0] - hung_up
            assert all(h.happened for h in hangups)
            await until(lambda: svc.gateway.gate.inflight == 0, timeout_s=2)
            await until(lambda: bool(access_lines(logs)), timeout_s=2)
    (line,) = access_lines(logs)
    assert (line["path"], line["status"]) == ("/v1/messages", 499)  # the call was cancelled
    assert "output_tokens" not in late_upstream.stats()["totals"]  # it never answered


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_hung_up_while_queued_is_cancelled_when_it_gets_its_slot(
    late_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path, protocol: str
) -> None:
    """The hang-up comes before the request watches for one (it waits at the gate): it is
    cancelled as soon as it starts watching, instead of calling the upstream for 30 s."""
    with json_logs() as logs:
        async with (
            service_on(
                late_upstream, tmp_path, protocol, max_inflight=1, queue_timeout_s=30
            ) as svc,
            httpx.AsyncClient(base_url=svc.url, timeout=60) as first,
            httpx.AsyncClient(base_url=svc.url, timeout=60) as second,
        ):
            assert svc.server is not None
            connections = svc.server.server_state.connections
            gate = svc.gateway.gate
            holder = asyncio.create_task(first.post("/v1/messages", json=message_body("late")))
            await until(lambda: bool(watch.started))
            assert_watched_by(svc, protocol)
            queued = asyncio.create_task(second.post("/v1/messages", json=message_body("late")))
            await until(lambda: gate.waiting == 1)
            queued.cancel()
            await asyncio.gather(queued, return_exceptions=True)
            await until(lambda: len(connections) == 1)  # the server saw it go (connection_lost)
            assert gate.waiting == 1  # still queued: nothing watched it yet
            holder.cancel()  # the slot frees: the queued request takes it, and must stop at once
            freed = time.monotonic()
            await asyncio.gather(holder, return_exceptions=True)
            await until(lambda: gate.inflight == 0 and gate.waiting == 0, timeout_s=5)
            assert time.monotonic() - freed < 1.0
            # had it reached the upstream, its upstream request was stopped too
            await until(lambda: len(watch.stopped) == len(watch.started), timeout_s=2)
            await until(lambda: len(access_lines(logs)) == 2, timeout_s=2)
    assert [line["status"] for line in access_lines(logs)] == [499, 499]
    assert gate.rejected == 0  # the queued one was not turned away: it was cancelled
    assert "output_tokens" not in late_upstream.stats()["totals"]


# --- the parts --------------------------------------------------------------------------------


def test_the_service_runs_uvicorn_with_the_hangup_protocol(tmp_path: Path) -> None:
    async def serve(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("not served")

    app: Any = serve  # uvicorn_config is typed for the service's app; any ASGI app will do

    settings = ServiceSettings(_env_file=None, data_dir=tmp_path, dev=True)
    assert HangupProtocol is not None
    assert issubclass(HangupProtocol, HttpToolsProtocol)
    assert http_protocol() is HangupProtocol
    config = uvicorn_config(app, settings)
    assert config.http is HangupProtocol
    config.load()
    assert config.http_protocol_class is HangupProtocol
    assert uvicorn_config(app, settings, http="h11").http == "h11"  # an override still wins


def test_the_hangup_protocol_pickles_by_reference(tmp_path: Path) -> None:
    """``serve --workers N`` pickles uvicorn's config, protocol class included, into each worker
    (tests/service/test_workers.py serves through it)."""
    assert pickle.loads(pickle.dumps(HangupProtocol)) is HangupProtocol  # noqa: S301 (our own)
    settings = ServiceSettings(_env_file=None, data_dir=tmp_path, dev=True)
    config = uvicorn_config(
        "claude_arch.service.app:app_from_env", settings, factory=True, workers=2
    )
    copy = pickle.loads(pickle.dumps(config))  # noqa: S301 (our own bytes)
    assert isinstance(copy, uvicorn.Config)
    assert copy.http is HangupProtocol


def scope_with(hangup: Hangup | None) -> dict[str, Any]:
    return {"type": "http", "extensions": {} if hangup is None else {HANGUP: hangup}}


async def never_read() -> dict[str, Any]:  # pragma: no cover (its being read is the failure)
    raise AssertionError("with a Hangup, nothing reads receive()")


async def test_a_hangup_that_already_happened_calls_back_on_entry() -> None:
    hangup = Hangup()
    hangup()  # the client went before the request started watching
    calls: list[str] = []
    tasks = asyncio.all_tasks()
    with watch_hangup(scope_with(hangup), never_read, lambda: calls.append("gone")):
        assert calls == ["gone"]  # at once, with no await in between
        assert asyncio.all_tasks() == tasks  # no watcher task
    assert hangup.callback is None


async def test_a_hangup_within_the_block_calls_back_and_none_after_it() -> None:
    hangup = Hangup()
    calls: list[str] = []
    with watch_hangup(scope_with(hangup), never_read, lambda: calls.append("gone")):
        assert calls == []
        hangup()  # what HangupProtocol.connection_lost does
        assert calls == ["gone"]
    assert hangup.callback is None
    hangup()  # a later notice reaches nobody
    assert calls == ["gone"]


@pytest.mark.parametrize("extensions", [None, {}, {HANGUP: "not a Hangup"}])
async def test_without_a_hangup_a_watcher_task_reads_the_disconnect(
    extensions: dict[str, Any] | None,
) -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    gone = asyncio.Event()
    scope: dict[str, Any] = {"type": "http"}
    if extensions is not None:
        scope["extensions"] = extensions
    tasks = asyncio.all_tasks()
    with watch_hangup(scope, queue.get, gone.set):
        (watcher,) = asyncio.all_tasks() - tasks
        queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        await until(queue.empty)  # read by the watcher, and not taken for a hang-up
        assert not gone.is_set()
        queue.put_nowait({"type": "http.disconnect"})
        async with asyncio.timeout(2):
            await gone.wait()
    await until(watcher.done)
    assert not watcher.cancelled()  # it ended by calling back


async def test_the_watcher_task_ends_with_the_block() -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    calls: list[str] = []
    tasks = asyncio.all_tasks()
    with watch_hangup({"type": "http"}, queue.get, lambda: calls.append("gone")):
        (watcher,) = asyncio.all_tasks() - tasks
        await asyncio.sleep(0)  # it runs, and waits on receive()
        assert not watcher.done()
    await asyncio.wait([watcher], timeout=2)
    assert watcher.cancelled()
    queue.put_nowait({"type": "http.disconnect"})  # after the block: nobody reads it
    assert queue.qsize() == 1
    assert calls == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_hangs_up_mid_stream_stops_the_upstream_within_100_ms(
    watch: UpstreamWatch, tmp_path: Path, protocol: str
) -> None:
    """After the first chunks were forwarded: the request's own task is cancelled by the hangup
    (the server's notice, or under h11 the watcher task), the stream is closed and settled."""
    emu = EmulatorServer(speed=1)
    emu.app.middlewares.insert(0, watch.record)
    emu.script(user="^long", text=" ".join(["word"] * 2000))
    async with (
        emu,
        service_on(emu, tmp_path, protocol) as svc,
        httpx.AsyncClient(base_url=svc.url, timeout=60) as http,
    ):
        with json_logs() as logs:
            body = message_body("long answer please", stream=True, max_tokens=8000)
            async with http.stream("POST", "/v1/messages", json=body) as reply:
                assert reply.status_code == 200
                chunks = reply.aiter_raw()
                first = await chunks.__anext__()
                assert b"message_start" in first
                hung_up = time.monotonic()
            # leaving the block closed the connection mid-stream
            await until(lambda: bool(watch.stopped), timeout_s=5)
            assert watch.stopped[0] - hung_up <= CANCEL_WITHIN_S, watch.stopped[0] - hung_up
            await until(lambda: svc.gateway.gate.inflight == 0, timeout_s=2)
            await until(lambda: bool(access_lines(logs)), timeout_s=2)
        (line,) = access_lines(logs)
        assert line["status"] == 200  # the status line went out before the hangup
        assert line["output_tokens"] > 0  # billed for what was sent (one token per delta at least)
