"""A dress rehearsal of one compose replica without Docker: the image's command, run as a process
with the compose file's environment, against a real PostgreSQL database and Redis.

It shows what the container will do: start from an empty database with the data directory as its
working directory, need no internet (no ANTHROPIC_API_KEY: the embedded emulator), refuse
requests without a service key, answer with one, report ready, and stop cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deploy_files import (
    DOCKER,
    ENV,
    dockerfile_stages,
    env_of,
    exec_form,
    load_compose,
    only,
    service_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]
START_TIMEOUT_S = 60.0
HELLO = {
    "model": "claude-haiku-4-5",
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "Hello"}],
}


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    """A new PostgreSQL database, as the compose stack's is on its first start."""
    name = f"deploy_{secrets.token_hex(6)}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def _replica_env(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    """The container's environment: the image's ENV, then compose's, the stores swapped for
    the local ones."""
    image = env_of(dockerfile_stages(DOCKER / "Dockerfile")[-1])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ARCH_"))}
    env |= {k: v for k, v in image.items() if k.startswith(("CLAUDE_ARCH_", "PYTHON"))}
    env |= service_env(load_compose(), ENV)
    env |= {
        "CLAUDE_ARCH_DATABASE_URL": database_url,
        "CLAUDE_ARCH_REDIS_URL": redis_url,
        "CLAUDE_ARCH_DATA_DIR": str(data_dir),
        "CLAUDE_ARCH_EMULATOR_SPEED": "0",
        "CLAUDE_ARCH_SHUTDOWN_GRACE_S": "5",
    }
    return env


def _create_key(env: dict[str, str]) -> str:
    """What `docker compose run --rm service claude-arch keys create NAME` does: the same image
    and environment, one command."""
    from typer.testing import CliRunner

    from claude_arch.cli import app

    result = CliRunner().invoke(app, ["keys", "create", "rehearsal", "--json"], env=env)
    assert result.exit_code == 0, result.output
    secret: str = json.loads(result.stdout)["secret"]
    return secret


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + START_TIMEOUT_S
    last: object = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the replica exited while starting"
        try:
            r = httpx.get(base + "/readyz", timeout=2)
            if r.status_code == 200:
                body: dict[str, object] = r.json()
                return body
            last = r.text
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"not ready within {START_TIMEOUT_S}s: {last}")


def test_a_replica_runs_as_compose_runs_it(
    empty_database: str, redis_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o750)
    port = _free_port()
    command = exec_form(only(dockerfile_stages(DOCKER / "Dockerfile")[-1], "CMD"))
    command[command.index("--port") + 1] = str(port)
    command[0] = str(Path(sys.executable).parent / command[0])
    env = _replica_env(empty_database, redis_url, data_dir)
    proc = subprocess.Popen(
        command,
        cwd=data_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        ready = _wait_ready(base, proc)
        assert ready["checks"] == {
            "database": "ok",
            "limits": "ok",
            "sessions": "ok",
            "upstream": "ok",
        }
        anonymous = httpx.post(base + "/v1/messages", json=HELLO, timeout=30)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["type"] == "authentication_error"
        secret = _create_key(env)
        answer = httpx.post(
            base + "/v1/messages", json=HELLO, headers={"x-api-key": secret}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["type"] == "message"
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises SIGTERM once it has shut down: Docker reports 143, as for any stop
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=10)
    logs = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    access = [entry for entry in logs if entry.get("path") == "/v1/messages"]
    assert [entry["status"] for entry in access] == [401, 200]
    assert all(entry.get("request_id", "").startswith("req_") for entry in access)
    messages = [entry["msg"] for entry in logs]
    drained = messages.index("stop signal: draining")
    assert "Application shutdown complete." in messages[drained:]  # stores closed, not killed
    assert secret not in stderr.decode()
    assert os.listdir(data_dir) == []  # PostgreSQL holds the state: nothing written locally
