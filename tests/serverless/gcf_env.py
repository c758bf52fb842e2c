"""A function served by the real Functions Framework (``functions-framework --target …``) in a
subprocess, its logs (JSON lines, as on Cloud Functions) in a file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from lambda_env import FunctionProcess

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "deploy" / "gcp" / "main.py"
FUNCTIONS_FRAMEWORK = str(Path(sys.executable).with_name("functions-framework"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cloud_event_headers(event: dict[str, Any]) -> dict[str, str]:
    """A CloudEvent's attributes as binary-mode HTTP headers (as Eventarc pushes it)."""
    headers = {"content-type": event.get("datacontenttype", "application/json")}
    for name, value in event.items():
        if name not in ("data", "datacontenttype"):
            headers[f"ce-{name}"] = str(value)
    return headers


class CloudFunction(FunctionProcess):
    """``functions-framework --source deploy/gcp/main.py --target TARGET`` on a free port."""

    def __init__(
        self, target: str, upstream: str, log: Path, *, api_key: str | None, **env: str
    ) -> None:
        import os

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        environ.pop("CLAUDE_ARCH_REDIS_URL", None)
        environ.update(
            ANTHROPIC_BASE_URL=upstream, K_SERVICE=f"claude-arch-{target}", PYTHONUNBUFFERED="1"
        )
        if api_key is not None:
            environ["ANTHROPIC_API_KEY"] = api_key
        environ.update(env)
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                FUNCTIONS_FRAMEWORK,
                "--source",
                str(SOURCE),
                "--target",
                target,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=environ,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        ends = time.monotonic() + timeout_s
        while time.monotonic() < ends:
            if self.process.poll() is not None:
                raise RuntimeError(f"functions-framework exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"functions-framework did not listen: {self.log()}")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log.close()

    def post(self, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["content"] = body if isinstance(body, bytes | str) else json.dumps(body)
        return httpx.post(self.url, timeout=30, **kwargs)
