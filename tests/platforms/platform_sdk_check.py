"""Drive an official Anthropic Python SDK's ``AnthropicBedrock`` and ``AnthropicVertex`` against the
emulator's Bedrock and Vertex APIs; print JSON.

Imports only the SDK and the standard library, so any SDK line's interpreter can run it (the 0.x
venv of ``test_platform_sdk_lines.py``):

    python tests/platforms/platform_sdk_check.py '{"url": "http://127.0.0.1:8080",
        "key": "sk-ant-…", "aws_access_key": "…", "aws_secret_key": "…",
        "vertex_token": "…", "project": "…"}'

The report, per platform (Bedrock's InvokeModel, Bedrock's Messages endpoint through
``AnthropicBedrockMantle`` where the SDK has it, Vertex): create (the message ID's prefix,
whether it has text), a stream read to its final message (text joined == the final text, output
tokens), a tool call (name, input, stop reason), a wrong credential and an injected quota error
(the error class and status).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from typing import Any

import anthropic

HI = [{"role": "user", "content": "hi"}]
ASK = [{"role": "user", "content": "weather in Oslo?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


def control(spec: dict[str, Any], path: str, body: Any) -> None:
    """PUT/POST to the emulator's control API (faults, rules)."""
    method = "PUT" if path.endswith("faults") else "POST"
    request = urllib.request.Request(  # noqa: S310 - the emulator's local URL
        spec["url"] + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"content-type": "application/json", "x-api-key": spec["key"]},
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def error_of(call: Any) -> dict[str, Any]:
    try:
        call()
    except anthropic.APIStatusError as exc:
        return {"class": type(exc).__name__, "status": exc.status_code}
    return {"class": None, "status": 200}


def checks(spec: dict[str, Any], client: Any, wrong: Any, model: str, quota: str) -> dict[str, Any]:
    message = client.messages.create(model=model, max_tokens=30, messages=HI)
    with client.messages.stream(model=model, max_tokens=40, messages=HI) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    with client.messages.stream(model=model, max_tokens=100, messages=ASK, tools=TOOLS) as s:
        called = s.get_final_message()
    call = next(block for block in called.content if block.type == "tool_use")
    control(spec, "/_emulator/faults", {"faults": [{"kind": quota, "next_n": 1}]})
    quota_error = error_of(lambda: client.messages.create(model=model, max_tokens=9, messages=HI))
    control(spec, "/_emulator/faults", {"faults": []})
    return {
        "id_prefix": message.id[:9],
        "has_text": bool(message.content[0].text),
        "stream_joined": text == final.content[0].text != "",
        "stream_output_tokens": final.usage.output_tokens,
        "tool": [call.name, call.input, called.stop_reason],
        "wrong_credential": error_of(
            lambda: wrong.messages.create(model=model, max_tokens=9, messages=HI)
        ),
        "quota": quota_error,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    control(
        spec,
        "/_emulator/rules",
        {
            "match": {"user": "weather"},
            "reply": {"tool_use": {"name": "get_weather", "input": {"city": "Oslo"}}},
        },
    )
    bedrock = {
        "base_url": spec["url"],
        "aws_region": "us-east-1",
        "aws_access_key": spec["aws_access_key"],
        "max_retries": 0,
    }
    vertex = {
        "base_url": spec["url"] + "/v1",
        "region": "us-east5",
        "project_id": spec["project"],
        "max_retries": 0,
    }
    report = {
        "version": anthropic.__version__,
        "bedrock": checks(
            spec,
            anthropic.AnthropicBedrock(aws_secret_key=spec["aws_secret_key"], **bedrock),
            anthropic.AnthropicBedrock(aws_secret_key="not-the-secret", **bedrock),
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "throttling",
        ),
        "vertex": checks(
            spec,
            anthropic.AnthropicVertex(access_token=spec["vertex_token"], **vertex),
            anthropic.AnthropicVertex(access_token="ya29.wrong", **vertex),
            "claude-sonnet-4-5@20250929",
            "resource_exhausted",
        ),
    }
    if hasattr(anthropic, "AnthropicBedrockMantle"):  # Bedrock's Messages endpoint
        mantle = {**bedrock, "base_url": spec["url"] + "/anthropic"}
        report["bedrock_messages"] = checks(
            spec,
            anthropic.AnthropicBedrockMantle(aws_secret_key=spec["aws_secret_key"], **mantle),
            anthropic.AnthropicBedrockMantle(aws_secret_key="not-the-secret", **mantle),
            "global.anthropic.claude-opus-5-5",
            "throttling",
        )
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
