"""``claude-arch serve --workers 2``: two processes on one port, JSON logs from each, and a SIGTERM
that lets an open stream finish before everything exits 0."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_process import ServiceProcess

from claude_arch.testing import EmulatorServer

pytestmark = pytest.mark.slow


@pytest.fixture
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer(speed=20, rate_limit_tier="none") as server:  # paced: streams take time
        yield server


def test_two_workers_serve_one_port_and_drain_together(
    upstream: EmulatorServer, tmp_path: Path
) -> None:
    env = {"CLAUDE_ARCH_DEV": "true", "CLAUDE_ARCH_SHUTDOWN_GRACE_S": "20"}
    with ServiceProcess(tmp_path, upstream=upstream, env=env, args=("--workers", "2")) as proc:
        proc.wait_ready()
        hello = {
            "model": "claude-haiku-4-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}],
        }
        with httpx.Client(base_url=proc.url, timeout=30) as http:
            for _ in range(20):  # new connections: the kernel spreads them over the workers
                with httpx.Client(base_url=proc.url, timeout=30) as one:
                    assert one.post("/v1/messages", json=hello).status_code == 200
            body = {**hello, "max_tokens": 600, "stream": True}
            with http.stream("POST", "/v1/messages", json=body) as r:
                chunks = r.iter_raw()
                received = next(chunks)
                signalled = time.monotonic()
                proc.terminate()
                received += b"".join(chunks)
        assert b"event: message_stop" in received  # the open stream finished after SIGTERM
        assert proc.wait(30) == 0
        assert time.monotonic() - signalled < 20
    log = proc.log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    started = {line["pid"] for line in lines if line["msg"].startswith("Started server process")}
    assert len(started) == 2, log[-3000:]  # two workers, each logging JSON
    served = [line for line in lines if line.get("path") == "/v1/messages"]
    assert len(served) == 21
    # (which worker accepts a connection is the kernel's choice: both usually serve some of
    # these, but not always, so that is not asserted)
    assert {line["pid"] for line in served} <= started
