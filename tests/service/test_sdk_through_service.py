"""The official SDKs, unchanged, pointed at the service with a *service* key: both Python lines
(2.x in this process, 0.x in its cached venv) and the TypeScript SDK (Node) do create, streams
(text and tool use), count_tokens, and get typed errors for the service's own refusals: 401 (bad
service key), 429 (key over its rpm), 413 (body over ``max_body_bytes``) and 400 (bad field).

The SDK installs are ``tests/sdk/sdk_installs.py``'s (cached, shared with the emulator's SDK tests).
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

HERE = Path(__file__).resolve().parent
MODEL = "claude-haiku-4-5"
MAX_BODY = 64 * 1024
OVERSIZED_CHARS = 100_000
RUN_TIMEOUT_S = 120
ERROR_CLASSES = {
    "0": {"400": "BadRequestError", "401": "AuthenticationError",
          "413": "RequestTooLargeError", "429": "RateLimitError"},
    "2": {"400": "BadRequestError", "401": "AuthenticationError",
          "413": "ContentTooLargeError", "429": "RateLimitError"},
}  # fmt: skip
ERROR_TYPES = {
    "400": "invalid_request_error",
    "401": "authentication_error",
    "413": "request_too_large",
    "429": "rate_limit_error",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceServer]:
    """The service (keys required, a small body limit) in its own thread: the SDKs block."""
    with (
        EmulatorServer(speed=0) as emu,
        ServiceServer.for_emulator(
            emu, tmp_path_factory.mktemp("svc"), max_body_bytes=MAX_BODY
        ) as svc,
    ):
        yield svc


def spec_for(service: ServiceServer) -> dict[str, Any]:
    return {
        "url": service.url,
        "key": service.create_key_sync("sdk", rpm=10_000),
        "limited_key": service.create_key_sync("sdk-limited", rpm=1),
        "model": MODEL,
        "oversized_chars": OVERSIZED_CHARS,
    }


def check_python_report(report: dict[str, Any], major: str) -> None:
    broken = {name: r["unexpected"] for name, r in report.items() if "unexpected" in r}
    assert not broken, "\n".join(f"{name}:\n{trace}" for name, trace in broken.items())
    assert report["sdk_version"].startswith(f"{major}.")

    created = report["create"]
    assert created["id"].startswith("msg_01")
    assert created["content"][0]["type"] == "text"
    assert created["counted_input_tokens"] == created["input_tokens"] > 0

    streamed = report["stream_text"]
    assert streamed["text"]
    assert streamed["final"][0]["text"] == streamed["text"]

    tool = report["stream_tool_use"]
    assert tool["stop_reason"] == "tool_use"
    assert tool["final"][-1]["name"] == "get_weather"
    assert isinstance(tool["final"][-1]["input"]["city"], str)

    raw = report["raw_stream"]["events"]
    assert raw[0] == "message_start"
    assert raw[-2:] == ["message_delta", "message_stop"]

    assert report["async"]["text"] == report["async"]["final"][0]["text"]

    errors = report["errors"]
    assert errors.pop("limited_first") in ("end_turn", "max_tokens")
    for status, error in errors.items():
        assert error["class"] == ERROR_CLASSES[major][status], (status, error)
        assert str(error["status"]) == status
        assert error["body"]["error"]["type"] == ERROR_TYPES[status]
        assert error["request_id"] == error["header_request_id"]
        assert error["request_id"].startswith("req_")


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_python_sdk_2x_in_process(service: ServiceServer) -> None:
    try:
        version = importlib.metadata.version("anthropic")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the 2.x SDK is not installed (pip install -e '.[dev]')")
    if not version.startswith("2."):
        pytest.skip(f"this venv holds anthropic {version}, not the 2.x line")
    import sdk_service_check

    check_python_report(sdk_service_check.run(spec_for(service)), "2")


@pytest.mark.sdk
@pytest.mark.timeout(400)
def test_python_sdk_0x_in_its_venv(sdk0_python: Path, service: ServiceServer) -> None:
    done = subprocess.run(
        [str(sdk0_python), str(HERE / "sdk_service_check.py"),
         json.dumps(spec_for(service))],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    check_python_report(json.loads(done.stdout), "0")


@pytest.mark.sdk
@pytest.mark.timeout(400)
def test_typescript_sdk(ts_sdk_dir: Path, service: ServiceServer) -> None:
    node = shutil.which("node")
    assert node is not None  # the ts_sdk_dir fixture needs it
    # beside the cached node_modules, replaced whole (another run may be reading the last copy)
    script = ts_sdk_dir / "service_check.mjs"
    staged = ts_sdk_dir / ".service_check.mjs.new"
    shutil.copyfile(HERE / "ts_service_check.mjs", staged)
    staged.replace(script)
    spec = spec_for(service)
    done = subprocess.run(
        [node, str(script), spec["url"], spec["key"], spec["limited_key"], MODEL,
         str(OVERSIZED_CHARS)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)

    created = report["create"]
    assert created["id"].startswith("msg_01")
    assert created["content"][0]["text"]
    assert report["countedInputTokens"] == created["inputTokens"] > 0
    streamed = report["stream"]
    assert streamed["text"] == streamed["final"][0]["text"]
    assert streamed["events"][0] == "message_start"
    assert streamed["events"][-1] == "message_stop"
    assert report["toolUse"]["stopReason"] == "tool_use"
    assert report["toolUse"]["content"][-1]["name"] == "get_weather"
    assert report["limitedFirst"] in ("end_turn", "max_tokens")

    expected = {
        "400": ["BadRequestError", "APIError"],
        "401": ["AuthenticationError", "APIError"],
        "413": ["ContentTooLargeError", "APIError"],
        "429": ["RateLimitError", "APIError"],
    }
    for status, classes in expected.items():
        error = report["errors"][status]
        assert error is not None, status
        assert (error["is"], error["status"], error["type"]) == (
            classes,
            int(status),
            ERROR_TYPES[status],
        )
        assert error["requestID"].startswith("req_")
