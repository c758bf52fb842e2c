"""The processes a service benchmark runs: emulator, service, bare proxy, LiteLLM, uvicorn workers.

    with Processes(tmp_dir) as procs:
        emulator = procs.emulator(core=1, speed=0)
        service = procs.service(emulator, core=0)
        print(service.url, service.rss_mib())

Each is a subprocess pinned with ``taskset`` (when there are two cores), its output in a log file
under the run's directory, stopped with SIGTERM (then SIGKILL) when the ``with`` block ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from service_harness.litellm_venv import litellm_venv

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EMULATOR_KEY = "sk-ant-bench-emulator"
LITELLM_KEY = "sk-bench-litellm"
EMULATOR = """
import sys
from aiohttp import web
from claude_arch.emulator import EmulatorConfig, create_app
config = EmulatorConfig.model_validate_json(sys.argv[1])
web.run_app(create_app(config), host=config.host, port=config.port, backlog=4096,
            handler_cancellation=True, access_log=None, print=None)
"""


CORES = sorted(os.sched_getaffinity(0))
"""The cores this run may use, read before the driver pins itself to the load's core."""


def pinned(core: int | None) -> list[str]:
    """``taskset`` for the ``core``-th usable core; ``None``: all of them (not the driver's)."""
    if not shutil.which("taskset") or len(CORES) < 2:
        return []
    return ["taskset", "-c", ",".join(map(str, CORES if core is None else [CORES[core]]))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a uvicorn master has its workers as children)."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            children = Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()
        except OSError:
            children = []
        pids += [int(c) for c in children]
        i += 1
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (fields 14 and 15 of stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pids: list[int]) -> float:
    """Resident memory (VmRSS) of processes, summed, in MiB."""
    total_kib = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


@dataclass
class Server:
    name: str
    url: str
    key_header: tuple[str, str]
    """The header a client sends to this server: (name, value)."""
    process: subprocess.Popen[bytes]

    @property
    def pids(self) -> list[int]:
        return tree(self.process.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    def rss_mib(self) -> float:
        return rss_mib(self.pids)

    def warm(self, body: dict[str, Any], requests: int = 20, timeout_s: float = 120) -> None:
        """A few requests one by one before anything is measured (LiteLLM imports a lot lazily
        on its first requests); raises unless each answers 200."""
        payload = json.dumps(body).encode()
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
        headers[self.key_header[0]] = self.key_header[1]
        for _ in range(requests):
            request = urllib.request.Request(self.url + "/v1/messages", payload, headers)  # noqa: S310
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:  # noqa: S310
                reply.read()


class Processes:
    """Starts servers for one benchmark run and stops them all when the block ends."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.servers: list[Server] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def home(self, name: str) -> Path:
        """A fresh directory for one process under the run's directory."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.run_dir))

    def stop(self, server: Server) -> None:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(5)
        self.servers.remove(server)

    def stop_all(self) -> None:
        for server in list(reversed(self.servers)):
            self.stop(server)

    def _start(
        self,
        name: str,
        argv: list[str],
        key_header: tuple[str, str],
        port: int,
        *,
        env: dict[str, str] | None = None,
        ready_path: str = "/",
        timeout_s: float = 30.0,
    ) -> Server:
        log = (self.home(name) / "output.log").open("ab")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        log.close()
        server = Server(name, f"http://127.0.0.1:{port}", key_header, process)
        self.servers.append(server)
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(server.url + ready_path, timeout=2):  # noqa: S310
                    return server
            except urllib.error.HTTPError:
                return server  # it answers: a 401 or 404 on the probe path is fine
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within {timeout_s:.0f} s") from None
                time.sleep(0.1)

    def emulator(self, core: int | None, **config: Any) -> Server:
        """The emulator (no rate limits unless ``config`` sets a tier)."""
        port = free_port()
        spec = json.dumps({"port": port, "rate_limit_tier": "none", **config})
        argv = [*pinned(core), sys.executable, "-c", EMULATOR, spec]
        return self._start("emulator", argv, ("x-api-key", EMULATOR_KEY), port)

    def stub_upstream(self, core: int | None, deltas: int = 20) -> Server:
        """``service_baselines/stub_upstream.py``: a fixed ``deltas``-delta stream per request."""
        port = free_port()
        script = ROOT / "bench" / "service_baselines" / "stub_upstream.py"
        argv = [*pinned(core), sys.executable, str(script), "--port", str(port)]
        argv += ["--deltas", str(deltas)]
        return self._start("stub", argv, ("x-api-key", EMULATOR_KEY), port, ready_path="/v1/models")

    def bare_proxy(self, upstream: Server, core: int | None) -> Server:
        port = free_port()
        script = ROOT / "bench" / "service_baselines" / "bare_proxy.py"
        argv = [*pinned(core), sys.executable, str(script), "--port", str(port)]
        argv += ["--upstream", upstream.url, "--api-key", EMULATOR_KEY]
        return self._start("bare-proxy", argv, ("x-api-key", "any"), port)

    def asgi_forwarder(self, upstream: Server, core: int | None) -> Server:
        """The service's stack with no gateway in it: uvicorn + a raw ASGI forwarder."""
        port = free_port()
        script = ROOT / "bench" / "service_baselines" / "asgi_forwarder.py"
        argv = [*pinned(core), sys.executable, str(script), "--port", str(port)]
        argv += ["--upstream", upstream.url, "--api-key", EMULATOR_KEY]
        return self._start("asgi-floor", argv, ("x-api-key", "any"), port)

    def service_env(self, upstream: Server, data_dir: Path, **settings: str) -> dict[str, str]:
        env = {
            "ANTHROPIC_BASE_URL": upstream.url,
            "ANTHROPIC_API_KEY": EMULATOR_KEY,
            "CLAUDE_ARCH_DATA_DIR": str(data_dir),
            "CLAUDE_ARCH_RATE_LIMIT_TIER": "none",  # the emulator's limits are not measured here
        }
        env.update({f"CLAUDE_ARCH_{k.upper()}": v for k, v in settings.items()})
        return env

    def service(
        self, upstream: Server, core: int | None, *, dev: bool = False, **settings: str
    ) -> Server:
        """``claude-arch serve`` with a fresh data directory and, unless ``dev``, a real key."""
        data_dir = self.home("service-data")
        secret = "dev-mode" if dev else create_key(data_dir)
        port = free_port()
        argv = [*pinned(core), str(BIN / "claude-arch"), "serve", "--port", str(port)]
        argv += ["--dev"] if dev else []
        env = self.service_env(upstream, data_dir, **settings)
        return self._start("service", argv, ("x-api-key", secret), port, env=env)

    def uvicorn_workers(self, upstream: Server, workers: int, **settings: str) -> Server:
        """``claude-arch serve --workers N`` (unpinned: N processes on the 2 cores)."""
        data_dir = self.home("workers-data")
        secret = create_key(data_dir)
        port = free_port()
        argv = [*pinned(None), str(BIN / "claude-arch"), "serve", "--port", str(port)]
        argv += ["--workers", str(workers)]
        env = self.service_env(upstream, data_dir, **settings)
        return self._start(
            f"serve-{workers}w", argv, ("x-api-key", secret), port, env=env, ready_path="/healthz"
        )

    def litellm(self, upstream: Server, core: int | None) -> Server:
        """LiteLLM's proxy from its own venv (created on first use), on ``upstream``."""
        litellm_bin = litellm_venv() / "bin" / "litellm"
        port = free_port()
        config = ROOT / "bench" / "service_baselines" / "litellm_config.yaml"
        argv = [*pinned(core), str(litellm_bin), "--config", str(config), "--port", str(port)]
        argv += ["--host", "127.0.0.1", "--num_workers", "1"]
        env = {
            "BENCH_EMULATOR_URL": upstream.url,
            "BENCH_EMULATOR_KEY": EMULATOR_KEY,
            "BENCH_LITELLM_KEY": LITELLM_KEY,
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "NO_DOCS": "True",
        }
        return self._start(
            "litellm",
            argv,
            ("authorization", f"Bearer {LITELLM_KEY}"),
            port,
            env=env,
            ready_path="/health/liveliness",
            timeout_s=180,
        )


def create_key(data_dir: Path) -> str:
    """A service key in the SQLite store the service will open (what `keys create` does)."""
    from claude_arch.core.sql import make_engine
    from claude_arch.service.tenancy.keys import KeyStore

    async def create() -> str:
        engine = make_engine(f"sqlite:///{data_dir / 'claude-arch.db'}")
        store = KeyStore(engine)
        try:
            await store.init()
            _key, secret = await store.create("bench")
        finally:
            await store.aclose()
            await engine.dispose()
        return secret

    return asyncio.run(create())
