"""A Lambda Runtime API on a local port, for running a handler under the real runtime client.

    with LambdaRuntimeApi() as api:
        proc = start_runtime(api, "claude_arch.serverless.aws_lambda.http_handler.handler", env)
        result = api.invoke({"version": "2.0", ...}, timeout_s=30)
        result.payload["statusCode"]

It serves what ``awslambdaric`` calls (``GET /invocation/next`` with the request id, deadline
and function ARN headers; ``POST /invocation/{id}/response`` and ``/error``; ``POST
/init/error``), one invocation at a time as Lambda does for one execution environment.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

import orjson
from aiohttp import web

from claude_arch.background import BackgroundServer
from claude_arch.errors import APITimeoutError, ConfigError

__all__ = ["Invocation", "LambdaRuntimeApi", "runtime_environment", "start_runtime"]

_PREFIX = "/2018-06-01/runtime"
FUNCTION_NAME = "claude-arch-local"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"


@dataclass(slots=True)
class Invocation:
    """One finished invocation: what the runtime posted back, and when."""

    request_id: str
    deadline_ms: int
    kind: Literal["response", "error", "init_error"]
    payload: Any
    answered_ms: int
    """Wall-clock milliseconds (like ``deadline_ms``) when the answer arrived."""
    duration_ms: float | None = None
    """From handing the event to the runtime client to its answer, as Lambda bills an
    invocation (None for an init error)."""


class LambdaRuntimeApi(BackgroundServer):
    """The Runtime API of one execution environment; :meth:`invoke` runs one event through it."""

    thread_name = "lambda-runtime-api"

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.host = host
        self.address = ""
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        self.init_errors: list[Any] = []
        self.polls = 0
        """``GET /next`` calls so far: the runtime waits for work once per poll."""
        self._queue: asyncio.Queue[tuple[str, int, bytes]] | None = None
        self._pending: dict[str, asyncio.Future[Invocation]] = {}
        self._deadlines: dict[str, int] = {}
        self._delivered: dict[str, float] = {}
        self._runner: web.AppRunner | None = None

    async def start_async(self) -> LambdaRuntimeApi:
        app = web.Application()
        app.router.add_get(f"{_PREFIX}/invocation/next", self._next)
        app.router.add_post(f"{_PREFIX}/invocation/{{id}}/response", self._response)
        app.router.add_post(f"{_PREFIX}/invocation/{{id}}/error", self._error)
        app.router.add_post(f"{_PREFIX}/init/error", self._init_error)
        self._queue = asyncio.Queue()
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.address = f"{host}:{port}"
        self.url = f"http://{self.address}"
        return self

    async def close_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- the test's side ----------------------------------------------------------------------
    async def invoke_async(
        self, event: Any, *, timeout_s: float = 30.0, wait_s: float = 120.0
    ) -> Invocation:
        """Queue ``event`` with ``timeout_s`` for the function; wait at most ``wait_s`` for it."""
        if self._queue is None:
            raise ConfigError("start the Runtime API before invoking")
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + timeout_s) * 1000)
        future: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._deadlines[request_id] = deadline_ms
        await self._queue.put((request_id, deadline_ms, orjson.dumps(event)))
        try:
            return await asyncio.wait_for(future, wait_s)
        except TimeoutError:
            raise APITimeoutError(f"the function did not answer within {wait_s:g} s") from None
        finally:
            self._pending.pop(request_id, None)

    def invoke(self, event: Any, *, timeout_s: float = 30.0, wait_s: float = 120.0) -> Invocation:
        """:meth:`invoke_async` from another thread (the server runs via :meth:`start`)."""
        if self.loop is None:
            raise ConfigError("start the Runtime API with start() (or use invoke_async)")
        coro = self.invoke_async(event, timeout_s=timeout_s, wait_s=wait_s)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    # --- the runtime client's side --------------------------------------------------------------
    async def _next(self, request: web.Request) -> web.Response:
        if self._queue is None:
            raise web.HTTPServiceUnavailable
        self.polls += 1
        request_id, deadline_ms, body = await self._queue.get()
        self._delivered[request_id] = time.perf_counter()
        return web.Response(
            body=body,
            content_type="application/json",
            headers={
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
            },
        )

    async def _response(self, request: web.Request) -> web.Response:
        return await self._finish(request, "response")

    async def _error(self, request: web.Request) -> web.Response:
        return await self._finish(request, "error")

    async def _finish(
        self, request: web.Request, kind: Literal["response", "error"]
    ) -> web.Response:
        request_id = request.match_info["id"]
        payload = orjson.loads(await request.read() or b"null")
        answered = time.perf_counter()
        future = self._pending.get(request_id)
        if future is None or future.done():
            return web.json_response({"errorMessage": "unknown request id"}, status=400)
        delivered = self._delivered.pop(request_id, answered)
        future.set_result(
            Invocation(
                request_id,
                self._deadlines.pop(request_id),
                kind,
                payload,
                int(time.time() * 1000),
                (answered - delivered) * 1000,
            )
        )
        return web.json_response({"status": "OK"}, status=202)

    async def _init_error(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read() or b"null")
        self.init_errors.append(payload)
        now = int(time.time() * 1000)
        for request_id, future in self._pending.items():
            if not future.done():
                future.set_result(Invocation(request_id, 0, "init_error", payload, now))
        return web.json_response({"status": "OK"}, status=202)


def runtime_environment(
    api: LambdaRuntimeApi, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment Lambda gives a function, pointed at ``api``, over ``env`` (default: ours)."""
    base = dict(os.environ if env is None else env)
    base.update(
        {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return base


def start_runtime(
    handler: str,
    env: Mapping[str, str],
    *,
    output: IO[bytes] | int | None = None,
    python: str = sys.executable,
    python_options: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """``python [OPTIONS] -m awslambdaric HANDLER`` in a new process; stdout and stderr go to
    ``output`` (a file, ``subprocess.DEVNULL``, or ``None``: this process's own)."""
    return subprocess.Popen(  # noqa: S603 - the handler name is the caller's own
        [python, *python_options, "-m", "awslambdaric", handler],
        env=dict(env),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
