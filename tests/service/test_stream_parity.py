"""Every content-block and delta kind the emulator produces, JSON and streamed, through the
official SDKs (Python 2.x in this process, 0.x in its venv, TypeScript in Node): directly against
the emulator and through the gateway, the final messages are equal field for field (ids aside),
the raw event sequences are the same, and a stream's final message equals the JSON answer.

The emulator is paced (so a stream arrives as many chunks, most of them one content delta each,
the gateway's deferred fast path) and deterministic (the same request gets the same reply, so the
direct and the proxied answers can be compared).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

import parity_check

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

HERE = Path(__file__).resolve().parent
SDK_DIR = HERE.parent / "sdk"
MODEL = "claude-haiku-4-5"
RUN_TIMEOUT_S = 240
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
TIME = {
    "name": "get_time",
    "description": "Local time in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
DOCUMENT = (
    "Token buckets refill continuously. Each model family has its own requests, input tokens "
    "and output tokens per minute. A request that would overdraw a bucket waits or is refused."
)
THINKING = {"type": "enabled", "budget_tokens": 1024}


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


CASES: dict[str, dict[str, Any]] = {
    "text": {"max_tokens": 256, "messages": ask("Tell me about token buckets")},
    "tool_forced": {
        "max_tokens": 512, "tools": [WEATHER],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": ask("Weather in Oslo?"),
    },
    "tool_auto": {
        "max_tokens": 512, "tools": [WEATHER, TIME], "tool_choice": {"type": "auto"},
        "messages": ask("Use get_weather for Oslo, please"),
    },
    "tool_any": {
        "max_tokens": 512, "tools": [WEATHER, TIME], "tool_choice": {"type": "any"},
        "messages": ask("What should I pack?"),
    },
    "tools_parallel": {
        "max_tokens": 1024, "tools": [WEATHER, TIME], "tool_choice": {"type": "auto"},
        "messages": ask("Call get_weather and get_time for Oslo"),
    },
    "thinking": {"max_tokens": 2048, "thinking": THINKING, "messages": ask("Why is the sky blue?")},
    "thinking_tool": {
        "max_tokens": 2048, "thinking": THINKING, "tools": [WEATHER],
        "messages": ask("Think, then use get_weather for Bergen"),
    },
    "citations": {
        "max_tokens": 512,
        "messages": [{"role": "user", "content": [
            {"type": "document", "title": "Limits",
             "source": {"type": "text", "media_type": "text/plain", "data": DOCUMENT},
             "citations": {"enabled": True}},
            {"type": "text", "text": "How do the limits work? Cite the document."},
        ]}],
    },
}  # fmt: skip
"""Each case and the content-block kinds its answer must hold (so the matrix cannot quietly
degrade to plain text)."""
EXPECTED_KINDS: dict[str, list[str] | None] = {
    "text": ["text"],
    "tool_forced": ["tool_use"],
    "tool_auto": ["text", "tool_use"],
    "tool_any": ["tool_use"],
    "tools_parallel": ["text", "tool_use", "tool_use"],
    "thinking": ["thinking", "text"],
    "thinking_tool": ["thinking", "text", "tool_use"],
    "citations": None,  # text blocks, cut around what they cite: checked below
}
_ID = re.compile(r"^(msg|toolu|srvtoolu)_[A-Za-z0-9]+$")


def normalized(value: Any) -> Any:
    """``value`` with every generated id (``msg_…``, ``toolu_…``) replaced by its kind, and
    ``null`` fields dropped (the SDK lines differ in which optional fields they print)."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str) and _ID.match(value):
        return value.split("_", 1)[0] + "_…"
    return value


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, str]]:
    """(emulator url, its key, gateway url, a service key): a paced emulator behind the gateway."""
    with (
        EmulatorServer(speed=50) as emu,
        ServiceServer.for_emulator(emu, tmp_path_factory.mktemp("parity")) as svc,
    ):
        yield emu.url, emu.api_key, svc.url, svc.create_key_sync("parity")


def spec(url: str, key: str) -> dict[str, Any]:
    return {"url": url, "key": key, "model": MODEL, "cases": CASES}


def check_reports(direct: dict[str, Any], proxied: dict[str, Any]) -> None:
    for where, report in (("direct", direct), ("gateway", proxied)):
        broken = {n: c["unexpected"] for n, c in report["cases"].items() if "unexpected" in c}
        assert not broken, f"{where}:\n" + "\n".join(f"{n}:\n{t}" for n, t in broken.items())
    for name in CASES:
        mine, theirs = normalized(proxied["cases"][name]), normalized(direct["cases"][name])
        kinds = [block["type"] for block in mine["json"]["content"]]
        assert kinds == (EXPECTED_KINDS[name] or ["text"] * len(kinds)), (name, kinds)
        # through the gateway exactly as directly
        assert mine["json"] == theirs["json"], name
        assert mine["raw_events"] == theirs["raw_events"], name
        assert mine["stream_final"] == theirs["stream_final"], name
        # and a stream's final message is the JSON answer
        assert mine["stream_final"] == mine["json"], name
        events = [event["event"] for event in mine["raw_events"]]
        assert events[0] == "message_start"
        assert events[-2:] == ["message_delta", "message_stop"]
    blocks = proxied["cases"]["citations"]["stream_final"]["content"]
    cited = [c for block in blocks for c in block.get("citations") or ()]
    assert cited, "the citations case streamed no citation"
    assert all(c["cited_text"] in DOCUMENT for c in cited)
    deltas = {
        event["data"]["delta"]["type"]
        for case in proxied["cases"].values()
        for event in case["raw_events"]
        if event["event"] == "content_block_delta"
    }
    assert deltas == {
        "text_delta", "input_json_delta", "thinking_delta", "signature_delta", "citations_delta",
    }  # fmt: skip


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_python_sdk_2x(servers: tuple[str, str, str, str]) -> None:
    emu_url, emu_key, gateway_url, key = servers
    check_reports(
        parity_check.run(spec(emu_url, emu_key)), parity_check.run(spec(gateway_url, key))
    )


@pytest.mark.sdk
@pytest.mark.timeout(400)
def test_python_sdk_0x(sdk0_python: Path, servers: tuple[str, str, str, str]) -> None:
    emu_url, emu_key, gateway_url, key = servers
    reports = []
    for url, secret in ((emu_url, emu_key), (gateway_url, key)):
        done = subprocess.run(
            [str(sdk0_python), str(SDK_DIR / "parity_check.py"), json.dumps(spec(url, secret))],
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        reports.append(json.loads(done.stdout))
    assert reports[0]["sdk_version"].startswith("0.")
    check_reports(*reports)


@pytest.mark.sdk
@pytest.mark.timeout(400)
def test_typescript_sdk(ts_sdk_dir: Path, servers: tuple[str, str, str, str]) -> None:
    emu_url, emu_key, gateway_url, key = servers
    node = shutil.which("node")
    assert node is not None  # the ts_sdk_dir fixture needs it
    reports = []
    for url, secret in ((emu_url, emu_key), (gateway_url, key)):
        done = subprocess.run(
            [node, str(ts_sdk_dir / "parity.mjs"), json.dumps(spec(url, secret))],
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        reports.append(json.loads(done.stdout))
    check_reports(*reports)
