"""Scripted replies: from the config, a rules file, the control endpoint and claude_arch.testing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from api_shapes import HAIKU, assert_error_shape, body, headers

from claude_arch.errors import ConfigError
from claude_arch.testing import EmulatorServer

CLASSIFIER = "You are a classifier"


def test_rules_file_in_toml_first_match_wins(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "[[rules]]\n"
        'match = { system = "classifier", user = "(?i)refund|invoice" }\n'
        'reply = { text = "billing" }\n'
        "[[rules]]\n"
        'match = { system = "classifier" }\n'
        'reply = { text = "general" }\n'
    )
    with EmulatorServer(rules_file=path) as emu, httpx.Client(base_url=emu.url) as http:

        def ask(text: str) -> str:
            r = http.post("/v1/messages", json=body(text, system=CLASSIFIER), headers=headers())
            return str(r.json()["content"][0]["text"])

        assert ask("I want a REFUND") == "billing"
        assert ask("hello") == "general"
        plain = http.post("/v1/messages", json=body("I want a refund"), headers=headers()).json()
        assert plain["content"][0]["text"] not in ("billing", "general")


def test_bad_rules_file_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"match": {"user": "("}, "reply": {"text": "x"}}]}))
    with pytest.raises(ConfigError, match="rules file"):
        EmulatorServer(rules_file=path)


def test_tool_use_error_and_model_rules(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Oslo"}})
    emu.script(user="explode", error={"status": 529, "type": "overloaded_error", "message": "busy"})
    emu.script(model="opus", text="from opus")
    emu.script(user="forbidden", text="", stop_reason="refusal")
    msg = client.post("/v1/messages", json=body("weather please")).json()
    assert msg["stop_reason"] == "tool_use"
    assert msg["content"][-1]["input"] == {"city": "Oslo"}
    r = client.post("/v1/messages", json=body("explode"))
    assert assert_error_shape(r, 529, "overloaded_error") == "busy"
    opus = client.post("/v1/messages", json={**body("hi"), "model": "claude-opus-4-6"}).json()
    assert opus["content"][0]["text"] == "from opus"
    assert client.post("/v1/messages", json=body("hi")).json()["model"] == HAIKU
    refused = client.post("/v1/messages", json=body("something forbidden")).json()
    assert refused["stop_reason"] == "refusal"


def test_rules_through_the_control_endpoint(client: httpx.Client) -> None:
    rule = {"match": {"user": "ping"}, "reply": {"text": "pong"}}
    assert client.put("/_emulator/rules", json={"rules": [rule]}).json() == {"rules": 1}
    assert client.post("/_emulator/rules", json={"reply": {"text": "fallback"}}).json() == {
        "rules": 2
    }
    assert client.get("/_emulator/rules").json()["rules"][0]["reply"]["text"] == "pong"
    assert client.post("/v1/messages", json=body("ping")).json()["content"][0]["text"] == "pong"
    assert client.post("/v1/messages", json=body("x")).json()["content"][0]["text"] == "fallback"
    r = client.put("/_emulator/rules", json={"rules": [{"match": {"user": "["}, "reply": {}}]})
    assert_error_shape(r, 400, "invalid_request_error")
    r = client.post("/_emulator/rules", json={"reply": {"colour": "red"}})
    assert_error_shape(r, 400, "invalid_request_error")


def test_stats_and_reset_endpoints(emu: EmulatorServer, client: httpx.Client) -> None:
    client.post("/v1/messages", json=body())
    client.post("/v1/messages", json=body(content=[{"type": "nope"}]))
    client.get("/v1/nowhere")
    stats = client.get("/_emulator/stats").json()
    assert stats["totals"]["requests"] == 1
    assert stats["totals"]["errors_400"] == 1
    assert stats["totals"]["errors_404"] == 1
    (key_id,) = stats["by_key"]
    assert key_id.startswith("key_")
    assert emu.api_key not in json.dumps(stats)
    assert client.post("/_emulator/reset").json() == {"reset": True}
    assert client.get("/_emulator/stats").json()["totals"] == {}
