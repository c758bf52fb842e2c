"""Serve one of the Cloud Functions on this machine under the real Functions Framework.

    claude-arch gcf serve --target ask --port 8080
    curl -s localhost:8080 -d '{"prompt": "Hello"}'

``claude-arch gcf serve`` is this: ``functions-framework --source …/gcp/functions.py --target
TARGET`` in a subprocess, with an emulator started for the run as upstream when no
``ANTHROPIC_API_KEY`` (or ``CLAUDE_ARCH_API_KEY_SECRET``) is set, as everywhere in claude-arch.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from claude_arch.errors import ConfigError

__all__ = ["SOURCE", "TARGETS", "functions_framework_command", "serve_locally"]

SOURCE = Path(__file__).with_name("functions.py")
"""The file the Functions Framework loads (deploy/gcp/main.py re-exports the same functions)."""
TARGETS = ("ask", "on_pubsub", "on_task")


def functions_framework_command(target: str, host: str, port: int) -> list[str]:
    """The ``functions-framework`` command line serving ``target``."""
    if target not in TARGETS:
        raise ConfigError(f"--target {target!r}: one of {', '.join(TARGETS)}")
    runner = shutil.which("functions-framework") or str(
        Path(sys.executable).with_name("functions-framework")
    )
    if not Path(runner).exists():
        raise ConfigError("the Functions Framework is missing: pip install 'claude-arch[gcp]'")
    return [
        runner,
        "--source",
        str(SOURCE),
        "--target",
        target,
        "--host",
        host,
        "--port",
        str(port),
    ]


def serve_locally(target: str = "ask", *, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Serve ``target`` until interrupted; returns the framework's exit code."""
    command = functions_framework_command(target, host, port)
    with ExitStack() as stack:
        environ = dict(os.environ)
        environ.setdefault("K_SERVICE", f"claude-arch-{target}")  # JSON log lines, as deployed
        if not environ.get("ANTHROPIC_API_KEY") and not environ.get("CLAUDE_ARCH_API_KEY_SECRET"):
            from claude_arch.testing import EmulatorServer

            emu = stack.enter_context(EmulatorServer(speed=1.0))
            environ.update(ANTHROPIC_API_KEY=emu.api_key, ANTHROPIC_BASE_URL=emu.url)
            print(f"upstream: the embedded emulator at {emu.url}", file=sys.stderr)
        print(f"{target}: http://{host}:{port}/ (Ctrl-C stops)", file=sys.stderr)
        process = subprocess.Popen(command, env=environ)  # noqa: S603 - our own command line
        try:
            return process.wait()
        except KeyboardInterrupt:
            # what Ctrl-C gives the framework in a terminal: gunicorn's quick shutdown (SIGTERM
            # would be its graceful one, up to 30 s); one that does not end is killed
            process.send_signal(signal.SIGINT)
            try:
                return process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
