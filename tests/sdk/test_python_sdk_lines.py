"""Both official Python SDK lines, unchanged, against the emulator: one script, two interpreters.

``sdk_check.py`` runs under the 0.x SDK (a cached venv) and the 2.x SDK (this venv) and reports
what it got; the emulator's request log says what arrived. Together they prove: create, streams
(text, tool use, thinking, raw events), the stream helper's final message, the async client,
count_tokens, batches with results, typed errors with the server's request ID, and the SDK's own
retries (``x-stainless-retry-count`` 0, 1, 2) waiting out our ``retry-after``.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from logged_emulator import MODELS, RETRY_AFTER_S, RequestLog
from sdk_installs import HERE

from claude_arch.constants import API_VERSION_0X, API_VERSION_2X
from claude_arch.testing import EmulatorServer

SCRIPT_TIMEOUT_S = 120

# What each line raises for each status (2.x renamed RequestTooLargeError and made
# OverloadedError an InternalServerError).
ERROR_CLASSES = {
    "0": {
        "400": "BadRequestError",
        "401": "AuthenticationError",
        "404": "NotFoundError",
        "413": "RequestTooLargeError",
        "429": "RateLimitError",
        "529": "OverloadedError",
    },
    "2": {
        "400": "BadRequestError",
        "401": "AuthenticationError",
        "404": "NotFoundError",
        "413": "ContentTooLargeError",
        "429": "RateLimitError",
        "529": "OverloadedError",
    },
}
ERROR_TYPES = {
    "400": "invalid_request_error",
    "401": "authentication_error",
    "404": "not_found_error",
    "413": "request_too_large",
    "429": "rate_limit_error",
    "529": "overloaded_error",
}
WIRE = {"0": ("x-api-key", API_VERSION_0X), "2": ("bearer", API_VERSION_2X)}


@pytest.fixture(params=["0", "2"], ids=["sdk-0.x", "sdk-2.x"])
def sdk_python(request: pytest.FixtureRequest) -> tuple[str, Path]:
    """(major version, interpreter) of one SDK line."""
    if request.param == "0":
        return "0", request.getfixturevalue("sdk0_python")
    # Read the version, not the package: importing the 2.x SDK here would cost seconds.
    try:
        version = importlib.metadata.version("anthropic")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the 2.x SDK is not installed (pip install -e '.[dev]')")
    if not version.startswith("2."):
        pytest.skip(f"this venv holds anthropic {version}, not the 2.x line")
    return "2", Path(sys.executable)


def run_check(python: Path, emu: EmulatorServer) -> dict[str, Any]:
    spec = {"url": emu.url, "key": emu.api_key, "models": MODELS}
    done = subprocess.run(
        [str(python), str(HERE / "sdk_check.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    broken = {name: r["unexpected"] for name, r in report.items() if "unexpected" in r}
    assert not broken, "\n".join(f"{name}:\n{trace}" for name, trace in broken.items())
    return report


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_sdk_line_runs_unchanged(
    sdk_python: tuple[str, Path], emu: EmulatorServer, request_log: RequestLog
) -> None:
    major, python = sdk_python
    report = run_check(python, emu)
    assert report["sdk_version"].startswith(f"{major}.")

    created = report["create"]
    assert created["id"].startswith("msg_01")
    assert created["stop_reason"] in ("end_turn", "max_tokens")
    assert created["content"][0]["type"] == "text"
    assert created["counted_input_tokens"] == created["input_tokens"] > 0

    streamed = report["stream_text"]
    assert streamed["text"]
    assert streamed["final"] == [{**streamed["final"][0], "type": "text", "text": streamed["text"]}]

    tool = report["stream_tool_use"]
    assert tool["stop_reason"] == "tool_use"
    assert tool["final"][-1]["type"] == "tool_use"
    assert tool["final"][-1]["name"] == "get_weather"
    assert isinstance(tool["final"][-1]["input"]["city"], str)

    thinking = report["stream_thinking"]["final"]
    assert thinking[0]["type"] == "thinking"
    assert thinking[0]["thinking"]
    assert thinking[0]["signature"]
    assert thinking[-1]["type"] == "text"

    raw = report["raw_stream"]["events"]
    assert raw[0] == "message_start"
    assert raw[-2:] == ["message_delta", "message_stop"]
    assert "content_block_delta" in raw

    async_run = report["async"]
    assert async_run["create"][0]["type"] == "text"
    assert async_run["text"] == async_run["final"][0]["text"]

    batch = report["batches"]
    assert batch["status"] == "ended"
    assert sorted(batch["results"]) == ["r0", "r1", "r2"]
    assert all(r["type"] == "succeeded" and r["text"] for r in batch["results"].values())

    for status, error in report["errors"].items():
        assert error["class"] == ERROR_CLASSES[major][status], (status, error)
        assert str(error["status"]) == status
        assert error["body"]["error"]["type"] == ERROR_TYPES[status]
        (arrival,) = request_log.of(f"e{status}")
        assert error["request_id"] == error["header_request_id"] == arrival.request_id
        assert arrival.request_id is not None
        assert arrival.request_id.startswith("req_01")
    if major == "2":
        assert "InternalServerError" in report["errors"]["529"]["bases"]

    assert report["retries"]["stop_reason"] in ("end_turn", "max_tokens")
    attempts = request_log.of("retries")
    assert [(a.retry_count, a.status) for a in attempts] == [("0", 429), ("1", 529), ("2", 200)]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    # Measured on the server: each retry came no sooner than the retry-after it was sent.
    assert all(gap >= RETRY_AFTER_S * 0.98 for gap in gaps), gaps

    auth, version = WIRE[major]
    sdk_calls = [a for a in request_log.arrivals if a.case]
    assert {(a.auth, a.version) for a in sdk_calls} == {(auth, version)}
    assert all(a.request_id and a.request_id.startswith("req_01") for a in sdk_calls)
    assert {a.status for a in sdk_calls} <= {200, 400, 401, 404, 413, 429, 529}
