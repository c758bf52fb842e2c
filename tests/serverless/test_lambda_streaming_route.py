"""The streaming route: the StreamFunction's ``run.sh`` started with the template's environment, as
the Lambda Web Adapter starts it (its key read from Secrets Manager), ready on the adapter's
readiness path and port, and streaming SSE event by event to the official SDK.

The adapter itself (a Rust binary shipped as a Lambda layer) is not run here: it forwards each
Function URL request to this port as plain HTTP and streams the response body back, so what is
checked is everything on our side of that contract."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_fakes import aws_env, client, moto_server
from gcf_env import free_port
from lambda_env import CANARY_KEY
from test_sam_template import TEMPLATE, load_template

from claude_arch.testing import EmulatorServer

LONG_ANSWER = " ".join(f"word{i}" for i in range(300))


def stream_function_env() -> dict[str, str]:
    """The StreamFunction's variables as CloudFormation would set them (Globals, then its own)."""
    template = load_template()
    parameters = template["Parameters"]
    variables: dict[str, Any] = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **template["Resources"]["StreamFunction"]["Properties"]["Environment"]["Variables"],
    }
    out = {}
    for name, value in variables.items():
        text = str(value)
        for param, spec in parameters.items():
            text = text.replace("${" + param + "}", str(spec.get("Default", "")))
        out[name] = str(parameters[text]["Default"]) if text in parameters else text
    return out


@pytest.fixture
def stream_function(
    tmp_path: Path,
) -> Iterator[tuple[str, EmulatorServer, subprocess.Popen[bytes]]]:
    with moto_server() as moto, EmulatorServer(api_keys=[CANARY_KEY], speed=1.0) as emu:
        emu.script(user="story", text=LONG_ANSWER)
        env = stream_function_env()
        secret = f"claude-arch/stream-{uuid.uuid4().hex[:6]}"
        client("secretsmanager", moto).create_secret(Name=secret, SecretString=CANARY_KEY)
        port = free_port()
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ARCH_"))
        }
        environ.update(env)
        environ.update(aws_env(moto))
        environ.update(
            CLAUDE_ARCH_API_KEY_SECRET=f"aws-secretsmanager:{secret}",
            AWS_LWA_PORT=str(port),
            CLAUDE_ARCH_DATA_DIR=str(tmp_path / "data"),
            ANTHROPIC_BASE_URL=emu.url,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}",
        )
        log = (tmp_path / "run.log").open("wb")
        process = subprocess.Popen(
            ["sh", str(TEMPLATE.parent / "run.sh")],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            ends = time.monotonic() + 60
            while True:  # what the adapter does before it takes the first event
                assert process.poll() is None, (tmp_path / "run.log").read_text()
                try:
                    if httpx.get(base + env["AWS_LWA_READINESS_CHECK_PATH"]).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < ends, "not ready"
                time.sleep(0.2)
            yield base, emu, process
        finally:
            process.terminate()
            process.wait(30)
            log.close()
        assert CANARY_KEY not in (tmp_path / "run.log").read_text()


def test_the_service_streams_through_the_adapters_port(
    stream_function: tuple[str, EmulatorServer, subprocess.Popen[bytes]],
) -> None:
    import anthropic

    base, emu, _ = stream_function
    with anthropic.Anthropic(base_url=base, api_key="unused-behind-iam", max_retries=0) as sdk:
        arrivals: list[float] = []
        started = time.monotonic()
        with sdk.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=1000,
            messages=[{"role": "user", "content": "Tell me a story"}],
        ) as stream:
            for _ in stream.text_stream:
                arrivals.append(time.monotonic() - started)
            final = stream.get_final_message()
    totals = emu.stats()["totals"]
    assert final.usage.output_tokens > 0
    assert len(arrivals) >= 10, arrivals
    # streamed as generated, not buffered: the emulator paces a long answer over seconds (a
    # late start may send its first overdue chunks together, never the whole answer)
    assert arrivals[-1] - arrivals[0] > 0.3, arrivals
    assert totals["requests"] == 1, totals  # with the key read from the secret
