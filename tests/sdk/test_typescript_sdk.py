"""The official TypeScript SDK (`@anthropic-ai/sdk` from npm, run by this machine's Node).

Unchanged, against the emulator: ``ts/check.mjs`` does create, a ``messages.stream()`` with its
final message, count_tokens and typed 404/429/529 errors, and prints JSON; the request log shows
what arrived.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from logged_emulator import MODELS, RequestLog

from claude_arch.constants import API_VERSION_2X
from claude_arch.testing import EmulatorServer

NODE_TIMEOUT_S = 60


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_typescript_sdk_creates_and_streams(
    ts_sdk_dir: Path, emu: EmulatorServer, request_log: RequestLog
) -> None:
    node = shutil.which("node")
    assert node is not None  # ts_sdk_dir only exists when Node does
    done = subprocess.run(
        [
            node,
            str(ts_sdk_dir / "check.mjs"),
            emu.url,
            emu.api_key,
            *(MODELS[role] for role in ("ok", "rate_limited", "overloaded")),
        ],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)

    created = report["create"]
    assert created["id"].startswith("msg_01")
    assert created["stopReason"] in ("end_turn", "max_tokens")
    assert created["content"][0]["type"] == "text"
    assert created["content"][0]["text"]
    assert report["countedInputTokens"] == created["inputTokens"] > 0

    streamed = report["stream"]
    assert streamed["text"]
    assert streamed["final"][0]["text"] == streamed["text"]
    assert streamed["stopReason"] in ("end_turn", "max_tokens")
    assert streamed["events"][0] == "message_start"
    assert streamed["events"][-1] == "message_stop"
    assert "content_block_delta" in streamed["events"]

    expected = {
        "404": (["NotFoundError"], "not_found_error"),
        "429": (["RateLimitError"], "rate_limit_error"),
        "529": (["OverloadedError", "InternalServerError"], "overloaded_error"),
    }
    for status, (classes, error_type) in expected.items():
        (arrival,) = request_log.of(f"ts_{status}")
        assert report["errors"][status] == {
            "is": classes,
            "status": int(status),
            "requestID": arrival.request_id,
            "type": error_type,
        }

    calls = [a for a in request_log.arrivals if a.case.startswith("ts_")]
    cases = ["ts_create", "ts_stream", "ts_count_tokens", "ts_404", "ts_429", "ts_529"]
    assert [a.case for a in calls] == cases
    assert {(a.auth, a.version, a.retry_count) for a in calls} == {("bearer", API_VERSION_2X, "0")}
