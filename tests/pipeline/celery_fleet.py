"""Real Celery workers for the pipeline's tests: subprocesses of ``claude-arch pipeline worker``
against a broker, a PostgreSQL ledger table of the test's own and an emulator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import pytest

from claude_arch.pipeline import Ledger
from claude_arch.testing import EmulatorServer

POLL_S = 0.05


def broker_for(request: pytest.FixtureRequest) -> str:
    """The broker URL of ``request.param``: Redis (database 14, so the limiter's flushes of
    database 15 never touch queued messages) or RabbitMQ."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url.rsplit("/", 1)[0] + "/14"
    amqp: str = request.getfixturevalue("rabbitmq_url")
    return amqp


class Fleet:
    """Workers started and killed by the test; every worker's log is kept in ``log_dir``."""

    def __init__(
        self,
        emu: EmulatorServer,
        *,
        broker: str,
        database: str,
        limiter_redis: str,
        log_dir: Path,
        **pipeline: str,
    ) -> None:
        self.table = f"pipeline_jobs_{uuid.uuid4().hex[:10]}"
        self.queue = f"claude-arch-test-{uuid.uuid4().hex[:10]}"
        self.broker = broker
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": emu.url,
            "ANTHROPIC_API_KEY": emu.api_key,
            "CLAUDE_ARCH_DATABASE_URL": database,
            "CLAUDE_ARCH_REDIS_URL": limiter_redis,  # the workers share one rate limiter
            "CLAUDE_ARCH_BROKER_URL": broker,
            "CLAUDE_ARCH_PIPELINE_TABLE": self.table,
            "CLAUDE_ARCH_PIPELINE_QUEUE": self.queue,
            "CLAUDE_ARCH_DATA_DIR": str(log_dir / "data"),
            **{f"CLAUDE_ARCH_PIPELINE_{k.upper()}": v for k, v in pipeline.items()},
        }
        self.database = database
        self.workers: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    async def ledger(self) -> Ledger:
        return await Ledger.open(self.database, table_name=self.table)

    def start(self, *, concurrency: int = 64, beat: bool = False) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "claude_arch.cli", "pipeline", "worker"]
        command += ["--concurrency", str(concurrency), "--loglevel", "warning"]
        if beat:
            command.append("--beat")
        log = (self.log_dir / f"worker-{len(self.workers)}.log").open("wb")
        self._logs.append(log)
        # a session of its own: --beat runs the scheduler in a child process, which a SIGKILL of
        # the worker alone would leave running
        proc = subprocess.Popen(
            command,
            env=self.env,
            cwd=self.log_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def cli(self, *args: str) -> str:
        command = [sys.executable, "-m", "claude_arch.cli", "pipeline", *args]
        done = subprocess.run(command, env=self.env, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return done.stdout.decode()

    def stop(self) -> None:
        for proc in self.workers:
            kill(proc)
        for log in self._logs:
            log.close()
        self._drop_queue()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.log_dir.glob("*.log"))

    def _drop_queue(self) -> None:
        from kombu import Connection

        try:
            with Connection(self.broker, connect_timeout=2) as conn:
                for queue in (self.queue, f"{self.queue}-control"):
                    conn.default_channel.queue_delete(queue)
        except Exception:  # noqa: S110 - a queue left behind is harmless, this is tidying only
            pass


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and every process of its session (its beat scheduler)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


async def wait_until(
    condition: Callable[[], Awaitable[bool]], fleet: Fleet, *, what: str, polls: int
) -> None:
    """Poll ``condition`` every 50 ms, at most ``polls`` times; fail with the workers' logs."""
    for _ in range(polls):
        if await condition():
            return
        await asyncio.sleep(POLL_S)
    pytest.fail(f"never reached: {what}\n--- worker logs ---\n{fleet.logs()}")
