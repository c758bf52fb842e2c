"""Servers a benchmark starts as processes of their own: started, awaited, stopped, their output
kept in a log file whose tail explains a failure.

    with ChildServer("service", [sys.executable, "-m", "claude_arch.cli", "serve", "--dev",
                                 "--port", str(port)], env, log_dir, ready_path="/healthz",
                     port=port) as child:
        child.url                 # http://127.0.0.1:PORT, answering ready_path with 2xx/4xx
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from claude_arch.advisor.measure.errors import BenchError

__all__ = ["ChildServer", "free_port"]

_POLL_S = 0.05


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ChildServer:
    """``args`` run in a new process with ``env``; ready once ``ready_path`` answers."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log_dir: Path,
        *,
        port: int,
        ready_path: str = "/",
        start_timeout_s: float = 60.0,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the process and wait until it answers; :class:`BenchError` with its log's tail
        when it exits or stays silent."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        give_up = time.monotonic() + self.start_timeout_s
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < give_up:
                if self._process.poll() is not None:
                    raise BenchError(f"{self.name} exited at start: {self.log_tail()}")
                try:
                    http.get(self.url + self.ready_path)
                    return self
                except httpx.TransportError:
                    time.sleep(_POLL_S)
        self.stop()
        raise BenchError(f"{self.name} did not answer within {self.start_timeout_s:g} s")

    def log_tail(self, chars: int = 400) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return text[-chars:].strip() or "(no output)"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL when it has not exited within 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def child_env(**values: str) -> dict[str, str]:
    """This process's environment without the settings a benchmark sets itself, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_ARCH_", "ANTHROPIC_"))}
    env.update(values)
    return env
