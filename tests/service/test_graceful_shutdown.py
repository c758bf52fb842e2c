"""Graceful shutdown of a real ``claude-arch serve`` process: on SIGTERM it reports not-ready,
refuses new connections, lets an open stream finish within ``shutdown_grace_s`` and exits 0; a
stream longer than the grace is cut and the process still exits promptly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from error_shape import message_body, sse_events
from service_process import ServiceProcess

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

# At speed 1 a haiku answers ~160 tokens/s: 400 words take ~2.5 s, 1600 words ~10 s.
SHORT_STREAM = " ".join(["word"] * 400)
LONG_STREAM = " ".join(["word"] * 1600)
EXIT_MARGIN_S = 5.0


@pytest.fixture
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer(speed=1) as emu:
        emu.script(user="^short", text=SHORT_STREAM)
        emu.script(user="^long", text=LONG_STREAM)
        yield emu


def refused(url: str) -> bool:
    """Whether a new connection goes unserved: refused, or (when it raced the listener's close and
    sat in the kernel's accept queue) dropped before any response."""
    try:
        httpx.get(url + "/healthz", timeout=1)
    except (httpx.ConnectError, httpx.RemoteProtocolError):
        return True
    return False


def poll(condition: object, timeout_s: float) -> bool:
    """Poll ``condition()`` until true or ``timeout_s`` passed; whether it became true."""
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_sigterm_lets_an_open_stream_finish_and_exits_0(
    upstream: EmulatorServer, tmp_path: Path
) -> None:
    grace = 10.0
    env = {"CLAUDE_ARCH_DEV": "true", "CLAUDE_ARCH_SHUTDOWN_GRACE_S": str(grace)}
    with ServiceProcess(tmp_path, upstream=upstream, env=env) as proc:
        proc.wait_ready()
        side = httpx.Client(base_url=proc.url, timeout=5)  # a connection open before the signal
        assert side.get("/readyz").status_code == 200
        body = message_body("short answer please", stream=True, max_tokens=4000)
        with (
            httpx.Client(base_url=proc.url, timeout=30) as http,
            http.stream("POST", "/v1/messages", json=body) as r,
        ):
            assert r.status_code == 200
            chunks = r.iter_raw()
            received = next(chunks)  # the stream is open and flowing
            signalled = time.monotonic()
            proc.terminate()
            # not ready from now on: a 503 on a connection still open, or no connection at all
            try:
                ready = side.get("/readyz")
                assert ready.status_code == 503, ready.text
                assert ready.json()["checks"]["draining"] == "shutting down"
            except httpx.TransportError:
                pass
            assert poll(lambda: refused(proc.url), 2.0), "still accepting after SIGTERM"
            assert proc.returncode() is None  # still draining the stream
            received += b"".join(chunks)
        ended = time.monotonic() - signalled
        side.close()
        events = [name for name, _ in sse_events(received.decode())]
        assert events[0] == "message_start"
        assert events[-1] == "message_stop", events[-5:]
        assert ended > 1.0  # the stream really outlived the signal
        returncode = proc.wait(grace + EXIT_MARGIN_S)
        assert returncode == 0, proc.logs()
        assert time.monotonic() - signalled < grace + EXIT_MARGIN_S
        assert '"stop signal: draining"' in proc.logs()


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_stream_longer_than_the_grace_is_cut_and_the_process_exits_promptly(
    upstream: EmulatorServer, tmp_path: Path
) -> None:
    grace = 1.0
    env = {"CLAUDE_ARCH_DEV": "true", "CLAUDE_ARCH_SHUTDOWN_GRACE_S": str(grace)}
    with ServiceProcess(tmp_path, upstream=upstream, env=env) as proc:
        proc.wait_ready()
        body = message_body("long answer please", stream=True, max_tokens=8000)
        with (
            httpx.Client(base_url=proc.url, timeout=30) as http,
            http.stream("POST", "/v1/messages", json=body) as r,
        ):
            assert r.status_code == 200
            chunks = r.iter_raw()
            received = next(chunks)
            signalled = time.monotonic()
            proc.terminate()
            with contextlib.suppress(httpx.TransportError):  # cut mid-chunk: cut all the same
                received += b"".join(chunks)
        cut_after = time.monotonic() - signalled
        assert b"event: message_stop" not in received
        # the stream ends with a typed, retryable error, not a bare dropped connection
        events = sse_events(received.decode())
        name, data = events[-1]
        assert name == "error", events[-3:]
        assert data["error"]["type"] == "overloaded_error"
        assert "shutting down" in data["error"]["message"]
        assert cut_after < grace + EXIT_MARGIN_S
        returncode = proc.wait(EXIT_MARGIN_S)
        assert returncode == 0, proc.logs()
        assert time.monotonic() - signalled < grace + EXIT_MARGIN_S
    stats = upstream.stats()["totals"]
    assert stats.get("streams_completed", 0) == 0
    assert stats["streams_cancelled"] == 1  # the upstream stream was stopped too


async def test_readyz_is_503_while_draining(service: ServiceServer) -> None:
    """The readiness logic alone (the process test above can only catch it in passing)."""
    async with httpx.AsyncClient(base_url=service.url) as http:
        assert (await http.get("/readyz")).status_code == 200
        service.gateway.draining = True
        r = await http.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["draining"] == "shutting down"
        assert (await http.get("/healthz")).status_code == 200
        service.gateway.draining = False


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_drain_delay_keeps_serving_while_not_ready_then_drains(
    upstream: EmulatorServer, tmp_path: Path
) -> None:
    """With ``drain_delay_s`` the replica answers /readyz 503 at once but keeps accepting and
    serving for the delay (the load balancer has not noticed yet), then closes its listener."""
    delay = 3.0
    env = {"CLAUDE_ARCH_DEV": "true", "CLAUDE_ARCH_DRAIN_DELAY_S": str(delay)}
    with ServiceProcess(tmp_path, upstream=upstream, env=env) as proc:
        proc.wait_ready()
        signalled = time.monotonic()
        proc.terminate()
        with httpx.Client(base_url=proc.url, timeout=5) as fresh:
            assert poll(lambda: fresh.get("/readyz").status_code == 503, 2.0)
        # new connections, opened after the signal, are still served
        with httpx.Client(base_url=proc.url, timeout=5) as late:
            answer = late.post("/v1/messages", json=message_body("short answer please"))
            assert answer.status_code == 200, answer.text
        assert time.monotonic() - signalled < delay, "too slow to check within the delay"
        assert not refused(proc.url)
        assert poll(lambda: refused(proc.url), delay + 3.0), "the listener never closed"
        assert time.monotonic() - signalled >= delay * 0.9
        assert proc.wait(EXIT_MARGIN_S + 5) == 0, proc.logs()
        assert "serving 3.0 s more before draining" in proc.log_path.read_text()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_second_signal_skips_the_drain_delay(upstream: EmulatorServer, tmp_path: Path) -> None:
    env = {"CLAUDE_ARCH_DEV": "true", "CLAUDE_ARCH_DRAIN_DELAY_S": "60"}
    with ServiceProcess(tmp_path, upstream=upstream, env=env) as proc:
        proc.wait_ready()
        proc.terminate()
        with httpx.Client(base_url=proc.url, timeout=5) as fresh:
            assert poll(lambda: fresh.get("/readyz").status_code == 503, 2.0)
        proc.terminate()
        assert proc.wait(EXIT_MARGIN_S + 5) == 0, proc.logs()
