"""Smoke test of the real worker under ``wrangler dev`` (workerd with its Python Workers runtime).

This is the one environmental skip the edge tests allow, in CI too: the Python Workers runtime
is not a package the tests can install offline. ``wrangler dev`` downloads its Pyodide bundle
when it starts, so the test runs only where ``wrangler`` is installed (on PATH, or named by
``CLAUDE_ARCH_TEST_WRANGLER``) and that download succeeds; otherwise it skips saying which of the
two is missing. The same entry.py and core run under Pyodide in Node in every run
(``test_edge_runtimes.py``); ``docs/edge.md`` § Tests says so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from claude_arch.edge.cpython.bundle import WORKER_DIR, build_bundle

START_GUARD_S = 120  # how long a first start (download and compile included) may take


def _wrangler() -> str | None:
    return os.environ.get("CLAUDE_ARCH_TEST_WRANGLER") or shutil.which("wrangler")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_worker_answers_under_wrangler_dev(tmp_path: Path) -> None:
    wrangler = _wrangler()
    if wrangler is None:
        pytest.skip(
            "environment: wrangler is not installed, so the Python Workers runtime (workerd and "
            "the Pyodide bundle it downloads at start) is not available; the worker runs under "
            "Pyodide in Node instead (test_edge_runtimes.py)"
        )
    shutil.copyfile(WORKER_DIR / "wrangler.toml", tmp_path / "wrangler.toml")
    build_bundle(tmp_path / "src")
    port = _free_port()
    log = tmp_path / "wrangler.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [wrangler, "dev", "--ip", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            started = time.monotonic()
            while time.monotonic() - started < START_GUARD_S:
                if process.poll() is not None:
                    pytest.skip(
                        "environment: wrangler dev exited before serving: it could not fetch or "
                        f"start the Python Workers runtime: {log.read_text()[-400:]}"
                    )
                try:
                    health = httpx.get(f"{url}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.5)
            else:
                pytest.skip(
                    "environment: wrangler dev did not serve within the start guard (downloading "
                    f"its Pyodide bundle?): {log.read_text()[-400:]}"
                )
            assert health.json() == {"status": "ok"}
            refused = httpx.post(f"{url}/v1/messages", json={}, timeout=30)
            assert refused.status_code == 401
            assert refused.json()["error"]["type"] == "authentication_error"
        finally:
            process.terminate()
            process.wait(20)
