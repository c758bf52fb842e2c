"""The two ways the edge core runs in these tests, and the upstream in front of the emulator.

- ``claude-arch edge serve`` (CPython, aiohttp) as a subprocess on a free port;
- the worker (``deploy/cloudflare-worker/src/entry.py`` plus the bundled core) under real Pyodide
  in Node (``pyodide/harness.mjs``), the npm ``pyodide`` package installed into the test cache on
  first use (``PYODIDE_DIR``), the Workers API stood in for by the harness.

Both talk to :class:`GatedUpstream`: it relays every request to the emulator, except a streaming
request whose prompt holds :data:`GATE_WORD`: that stream stops after its first delta until the
test opens the gate, so a client can only see that delta if the edge passes events on unbuffered.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from cached_install import CACHE, install_npm_folder
from claude_arch.background import BackgroundServer
from claude_arch.edge.cpython.bundle import build_bundle

HERE = Path(__file__).resolve().parent
HARNESS_SOURCE = HERE / "pyodide"
HARNESS_FILES = ("package.json", "harness.mjs", "workers_shim.py")
PYODIDE_DIR = CACHE / "edge-pyodide"
GATE_WORD = "GATED-STREAM"
# the settings both runtimes run with (conftest.edge_env)
ALLOWED_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5")
MAX_TOKENS_CAP = 1024
MAX_BODY_BYTES = 65536
CORS_ORIGIN = "https://app.example.com"
LIMITED_RPM = 2
_HOP = {"host", "content-length", "transfer-encoding", "connection"}


def install_pyodide() -> str | None:
    """The harness and the pinned npm ``pyodide`` at :data:`PYODIDE_DIR`; None, or the problem."""
    return install_npm_folder(HARNESS_SOURCE, HARNESS_FILES, PYODIDE_DIR, "pyodide")


def _sse(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


_MESSAGE = {
    "id": "msg_01gated",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


def _delta(text: str) -> bytes:
    delta = {"type": "text_delta", "text": text}
    return _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})


class GatedUpstream(BackgroundServer):
    """A relay to ``emulator_url`` that counts requests and can hold a stream mid-way."""

    thread_name = "edge-test-upstream"

    def __init__(self, emulator_url: str) -> None:
        super().__init__()
        self.emulator_url = emulator_url
        self.requests = 0
        self.gate = threading.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start_async(self) -> GatedUpstream:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def close_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.read()
        if GATE_WORD.encode() in body:
            return await self._gated(request)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session.request(
            request.method, self.emulator_url + request.path_qs, headers=headers, data=body
        ) as answer:
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
            response = web.StreamResponse(status=answer.status, headers=passed)
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _gated(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_sse("message_start", {"type": "message_start", "message": _MESSAGE}))
        block = {"type": "text", "text": ""}
        start = {"type": "content_block_start", "index": 0, "content_block": block}
        await response.write(_sse("content_block_start", start))
        await response.write(_delta("before the gate"))
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 30)
        await response.write(_delta(", after it"))
        await response.write(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        stop = {"stop_reason": "end_turn", "stop_sequence": None}
        delta = {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 4}}
        await response.write(_sse("message_delta", delta))
        await response.write(_sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        return response


@dataclass(frozen=True)
class EdgeKeys:
    """Secrets of keys made with the service's KeyStore: unlimited, limited (2 rpm), revoked, and
    one made before salting (plain SHA-256); ``kv_entries``: what ``claude-arch edge keys-export``
    made of them."""

    unlimited: str
    limited: str
    revoked: str
    legacy: str
    kv_entries: dict[str, str]


@dataclass
class RunningEdge:
    """An edge on ``url`` (``kind``: cpython or pyodide), its process and what it printed."""

    kind: str
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _wait_for_url(process: subprocess.Popen[str], marker: str) -> tuple[str | None, list[str]]:
    """Read ``process``'s stdout until a line starting with ``marker``; its URL, or None."""
    seen: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line.rstrip())
        if line.startswith(marker):
            url = next((w for w in line.split() if w.startswith("http://")), None)
            return url, seen
    return None, seen


def start_cpython_edge(env_vars: dict[str, str], keys_file: Path) -> RunningEdge:
    """``claude-arch edge serve --port 0`` with ``env_vars``; raises when it does not start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_ARCH_EDGE_")}
    env.update(env_vars)
    process = subprocess.Popen(
        [sys.executable, "-m", "claude_arch.cli", "edge", "serve", "--port", "0",
         "--keys-file", str(keys_file)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url, seen = _wait_for_url(process, "claude-arch edge on ")
    if url is None:
        RunningEdge("cpython", "", process).stop()
        raise RuntimeError(f"claude-arch edge serve did not start: {seen}")
    return RunningEdge("cpython", url, process, seen)


def start_pyodide_edge(
    env_vars: dict[str, str], kv: dict[str, str], work: Path, extra: dict[str, object] | None = None
) -> RunningEdge:
    """The worker under Pyodide in Node (``harness.mjs serve``); raises when it does not start."""
    worker = work / "worker"
    build_bundle(worker)
    config = {
        "worker": str(worker),
        "shim": str(PYODIDE_DIR / "workers_shim.py"),
        "env": env_vars,
        "kv": kv,
        **(extra or {}),
    }
    config_path = work / "harness.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        ["node", "harness.mjs", "serve", str(config_path)],
        cwd=PYODIDE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    url, seen = _wait_for_url(process, "READY ")
    if url is None:
        RunningEdge("pyodide", "", process).stop()
        raise RuntimeError(f"the Pyodide harness did not start: {seen}")
    return RunningEdge("pyodide", url, process, seen)
