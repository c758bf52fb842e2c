"""``claude-arch serve`` as a real OS process on a free port, for shutdown and multi-replica tests.

    with ServiceProcess(tmp_path, upstream=emulator, env={"CLAUDE_ARCH_DEV": "true"}) as proc:
        proc.wait_ready()                    # polls /readyz until 200 (no sleeps)
        httpx.get(proc.url + "/healthz")
    proc.logs()                              # what it wrote (JSON lines on stderr)

The process reads only the environment given here (plus PATH and HOME), from ``data_dir`` as its
working directory, so no ``.env`` and no developer's ``CLAUDE_ARCH_*`` leak in.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from claude_arch.testing import EmulatorServer

CLI = Path(sys.executable).parent / "claude-arch"
READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class ServiceProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        upstream: EmulatorServer,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            "ANTHROPIC_BASE_URL": upstream.url,
            "ANTHROPIC_API_KEY": upstream.api_key,
            "CLAUDE_ARCH_DATA_DIR": str(data_dir),
            "CLAUDE_ARCH_RATE_LIMIT_TIER": "none",
            **(env or {}),
        }
        self.args = args
        self.log_path = data_dir / f"service-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(CLI), "serve", "--port", str(self.port), *self.args],
                env=self.env,
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll ``/readyz`` until it answers 200; fail with the process's output otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.returncode() is not None:
                raise AssertionError(f"the service exited {self.returncode()}:\n{self.logs()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the service was not ready within {timeout_s} s:\n{self.logs()}")

    def returncode(self) -> int | None:
        assert self.proc is not None
        return self.proc.poll()

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        """Kill what is still running (a test that failed half-way)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
