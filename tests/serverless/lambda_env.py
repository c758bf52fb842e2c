"""A handler run by the real ``awslambdaric`` in a subprocess, against a local Runtime API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from claude_arch.serverless.aws_lambda.runtime_api import (
    Invocation,
    LambdaRuntimeApi,
    runtime_environment,
    start_runtime,
)

EVENTS = Path(__file__).parent / "events"
CANARY_KEY = "sk-ant-api03-CANARY-must-never-be-logged-0123456789"
HTTP_HANDLER = "claude_arch.serverless.aws_lambda.http_handler.handler"
SQS_HANDLER = "claude_arch.serverless.aws_lambda.sqs_handler.handler"


def event(name: str) -> Any:
    """A committed event fixture, parsed."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def body_of(result: Invocation) -> Any:
    """The JSON body of an HTTP function's response."""
    assert result.kind == "response", result.payload
    return json.loads(result.payload["body"])


class FunctionProcess:
    """A function's process whose output goes to ``log_path``: its log as text and as records;
    ``with`` closes it (:meth:`close`)."""

    log_path: Path
    _log: IO[bytes]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of the log (Powertools' logs and metrics; Cloud Logging's lines)."""
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LambdaFunction(FunctionProcess):
    """One execution environment: ``awslambdaric`` running ``handler`` with its output in a file."""

    def __init__(
        self,
        handler: str,
        upstream: str,
        log: Path,
        *,
        api_key: str | None = CANARY_KEY,
        **env: str,
    ) -> None:
        self.api = LambdaRuntimeApi().start()
        environ = runtime_environment(self.api)
        environ.update(ANTHROPIC_BASE_URL=upstream, **env)
        environ.pop("ANTHROPIC_API_KEY", None)
        if api_key is not None:  # None: the function reads its key from a secret store
            environ["ANTHROPIC_API_KEY"] = api_key
        environ.pop("CLAUDE_ARCH_REDIS_URL", None)
        self.log_path = log
        self._log = log.open("wb")
        self.process = start_runtime(handler, environ, output=self._log)

    def invoke(self, payload: Any, *, timeout_s: float = 30.0) -> Invocation:
        return self.api.invoke(payload, timeout_s=timeout_s, wait_s=60)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(30)
        self.api.close()
        self._log.close()


def python_modules_after(code: str, env: dict[str, str]) -> set[str]:
    """The modules loaded in a fresh interpreter after running ``code``."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, check=True, text=True
    )
    return set(out.stdout.split())


def drop_idempotency_table(url: str) -> None:
    """Drop the idempotency table a test made in a shared database."""
    from sqlalchemy import create_engine, text

    from claude_arch.serverless.idempotency_sql import TABLE_NAME, sync_url

    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE_NAME}"))
    engine.dispose()
