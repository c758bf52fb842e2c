"""``claude-arch gcf serve``: a function served by the Functions Framework against an emulator
started for the run (no key set), answering until interrupted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from gcf_env import free_port
from typer.testing import CliRunner

from claude_arch.cli import app

CLI = str(Path(sys.executable).with_name("claude-arch"))


def test_gcf_serve_answers_json_and_sse_against_the_emulator(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ARCH_"))}
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [CLI, "gcf", "serve", "--target", "ask", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        ends = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert process.poll() is None
                assert time.monotonic() < ends
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        answer = httpx.post(url, json={"prompt": "Hello", "max_tokens": 32}, timeout=30)
        assert answer.status_code == 200
        assert answer.json()["text"]
        with httpx.stream(
            "POST", url, json={"prompt": "Hello", "stream": True}, timeout=30
        ) as stream:
            lines = [line for line in stream.iter_lines() if line.startswith("event: ")]
        assert lines[-1] == "event: done"
        assert "event: text" in lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # generous: on a loaded machine the framework's shutdown is slow, not wrong
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        finally:
            log.close()
    assert "the embedded emulator" in (tmp_path / "serve.log").read_text()


def test_an_unknown_target_is_refused() -> None:
    result = CliRunner().invoke(app, ["gcf", "serve", "--target", "nope"])
    assert result.exit_code == 2
    assert "ask, on_pubsub, on_task" in result.output
