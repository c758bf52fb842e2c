"""Run one event through a handler under the real Lambda runtime client, on this machine.

    invocation = invoke_locally({"version": "2.0", ...}, handler="http")
    invocation.kind, invocation.payload["statusCode"]

``claude-arch lambda invoke EVENT.json`` is this. The handler runs as ``python -m awslambdaric``
against a local Runtime API (:mod:`.runtime_api`), in the environment Lambda gives a function.
With no ``ANTHROPIC_API_KEY`` in the environment the upstream is an emulator started for the
run, as everywhere else in claude-arch.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack
from typing import Any

from claude_arch.serverless.aws_lambda.runtime_api import (
    Invocation,
    LambdaRuntimeApi,
    runtime_environment,
    start_runtime,
)

__all__ = ["HANDLERS", "invoke_locally"]

HANDLERS = {
    "http": "claude_arch.serverless.aws_lambda.http_handler.handler",
    "sqs": "claude_arch.serverless.aws_lambda.sqs_handler.handler",
}
"""Short names of the shipped handlers; any other value is a ``module.function`` path."""


def invoke_locally(event: Any, *, handler: str = "http", timeout_s: float = 30.0) -> Invocation:
    """What the function answered to ``event`` (``timeout_s``: the invocation's own limit, which
    the handler reads from its context)."""
    target = HANDLERS.get(handler, handler)
    with ExitStack() as stack:
        environ = dict(os.environ)
        if not environ.get("ANTHROPIC_API_KEY"):
            from claude_arch.testing import EmulatorServer

            emu = stack.enter_context(EmulatorServer(speed=0))
            environ.update(ANTHROPIC_API_KEY=emu.api_key, ANTHROPIC_BASE_URL=emu.url)
        api = stack.enter_context(LambdaRuntimeApi())
        process = start_runtime(
            target, runtime_environment(api, environ), output=subprocess.DEVNULL
        )
        stack.callback(process.wait, 30)
        stack.callback(process.kill)
        return api.invoke(event, timeout_s=timeout_s, wait_s=timeout_s + 60)
