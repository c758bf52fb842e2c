"""The reliability suite's live gateway and canaries (fixtures in ``conftest.py``): a
``claude-arch serve`` process in production mode (service keys in SQLite, limits and budgets in
Redis, the emulator upstream), and the canary check.

The gateway's upstream key and its service keys are canaries: ``Leaks`` collects every response
(head and body) a test reads, and at teardown greps them, together with every line the serve
process logged, for each canary whole and for any 8-character piece of its secret part. A test
hands each response to ``leaks.seen(...)``; the check runs whether the test passed or not.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))

from service_process import ServiceProcess

from claude_arch.core.sql import make_engine
from claude_arch.service.tenancy.keys import KeyStore
from claude_arch.testing import EmulatorServer

SUITE_CONFTEST = Path(__file__).resolve().parent.parent / "conftest.py"
PIECE = 8
"""A canary leaks if any run of this many characters of its secret part appears."""


def suite_conftest(config: pytest.Config) -> ModuleType:
    """``tests/conftest.py`` as pytest loaded it (its Redis URL and ``service_missing`` rule)."""
    module = config.pluginmanager.get_plugin(str(SUITE_CONFTEST))
    assert isinstance(module, ModuleType), "tests/conftest.py was not loaded"
    return module


def new_canary(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Leaks:
    """Canary secrets and every text a test saw; :meth:`check` finds any canary in them."""

    canaries: list[str]
    texts: list[str] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)

    def seen(self, *items: httpx.Response | bytes | str) -> None:
        """Keep a response (status, headers, body), raw bytes or text for the final grep."""
        for item in items:
            if isinstance(item, httpx.Response):
                head = "\n".join(f"{k}: {v}" for k, v in item.headers.multi_items())
                self.texts.append(f"{item.status_code}\n{head}\n\n{item.text}")
            elif isinstance(item, bytes):
                self.texts.append(item.decode("utf-8", "replace"))
            else:
                self.texts.append(item)

    def found(self) -> list[str]:
        everything = "\n".join(
            [*self.texts, *(p.read_text(errors="replace") for p in self.log_files if p.exists())]
        )
        hits = []
        for canary in self.canaries:
            secret = canary[-32:]  # the random part
            if canary in everything:
                hits.append(canary)
            hits += [
                secret[i : i + PIECE]
                for i in range(len(secret) - PIECE + 1)
                if secret[i : i + PIECE] in everything
            ]
        return hits

    def check(self) -> None:
        assert self.texts, "the canary check saw no response: the test recorded nothing"
        hits = self.found()
        assert not hits, f"canary secrets reached a response or a log line: {hits}"


@dataclass
class LiveGateway:
    """A running ``claude-arch serve`` and what a test needs to talk to it."""

    proc: ServiceProcess
    upstream: EmulatorServer
    key: str
    """A service key without limits (a canary)."""
    database_url: str
    redis_url: str
    leaks: Leaks

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def pid(self) -> int:
        assert self.proc.proc is not None
        return self.proc.proc.pid

    def rss_kib(self) -> int:
        """The serve process's resident set size (``VmRSS`` of /proc/PID/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    async def new_key(self, name: str, **limits: Any) -> str:
        """A new service key in the gateway's database (a canary too)."""
        secret = await create_key(self.database_url, name, **limits)
        self.leaks.canaries.append(secret)
        return secret


async def create_key(database_url: str, name: str, **limits: Any) -> str:
    """A key in the database the serve process reads (keys are looked up per request)."""
    if limits.get("budget_usd") is not None:
        limits["budget_usd"] = Decimal(str(limits["budget_usd"]))
    engine = make_engine(database_url)
    try:
        store = KeyStore(engine)
        await store.init()
        _key, secret = await store.create(name, **limits)
        await store.aclose()
    finally:
        await engine.dispose()
    return secret


def start_gateway(
    data_dir: Path, redis_url: str, env: dict[str, str] | None = None, **emulator: Any
) -> Iterator[LiveGateway]:
    """A live gateway on a canary upstream key; stopped with SIGTERM (so its log is complete)
    and canary-checked at the end."""
    upstream_key = new_canary("sk-ant-canary-")
    database_url = f"sqlite:///{data_dir / 'keys.db'}"
    key = asyncio.run(create_key(database_url, "reliability"))
    leaks = Leaks(canaries=[upstream_key, key])
    environment = {
        "CLAUDE_ARCH_REDIS_URL": redis_url,
        "CLAUDE_ARCH_DATABASE_URL": database_url,
        "CLAUDE_ARCH_MAX_INFLIGHT": "64",
        **(env or {}),
    }
    with EmulatorServer(speed=0, api_keys=[upstream_key], **emulator) as emu:
        assert emu.api_key == upstream_key
        proc = ServiceProcess(
            data_dir, upstream=emu, env=environment, args=("--log-level", "debug")
        )
        leaks.log_files.append(proc.log_path)
        with proc:
            proc.wait_ready()
            yield LiveGateway(proc, emu, key, database_url, redis_url, leaks)
            proc.terminate()
            proc.wait(30)
    leaks.check()
