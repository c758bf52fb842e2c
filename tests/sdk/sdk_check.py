"""Drive an official Anthropic Python SDK (0.x or 2.x line) against a server; print JSON results.

Run by ``test_python_sdk_lines.py`` with the interpreter of the SDK line under test, so it imports
nothing but the SDK and the standard library:

    python tests/sdk/sdk_check.py '{"url": "http://127.0.0.1:4010", "key": "sk-ant-x",
                                    "models": {"ok": "claude-haiku-4-5", ...}}'

Every call carries an ``x-sdk-case`` header so the server side can tell the cases apart. A case
that raises something unexpected is reported as ``{"unexpected": "..."}`` instead of stopping the
run, so one broken case does not hide the others.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import anthropic

HELLO: list[Any] = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
# Just over the Messages API's 32 MB request limit.
OVERSIZED_CHARS = 33 * 1024 * 1024


def case(name: str) -> dict[str, Any]:
    return {"extra_headers": {"x-sdk-case": name}}


def blocks(message: Any) -> list[dict[str, Any]]:
    return [block.model_dump() for block in message.content]


def create(client: Any, models: dict[str, str]) -> dict[str, Any]:
    params = {"model": models["ok"], "max_tokens": 64, "messages": HELLO}
    message = client.messages.create(**params, **case("create"))
    counted = client.messages.count_tokens(
        model=models["ok"], messages=HELLO, **case("count_tokens")
    )
    return {
        "id": message.id,
        "stop_reason": message.stop_reason,
        "content": blocks(message),
        "input_tokens": message.usage.input_tokens,
        "counted_input_tokens": counted.input_tokens,
    }


def stream_text(client: Any, models: dict[str, str]) -> dict[str, Any]:
    with client.messages.stream(
        model=models["ok"], max_tokens=64, messages=HELLO, **case("stream_text")
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    return {"text": text, "final": blocks(final), "stop_reason": final.stop_reason}


def stream_tool_use(client: Any, models: dict[str, str]) -> dict[str, Any]:
    with client.messages.stream(
        model=models["ok"],
        max_tokens=512,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        **case("stream_tool_use"),
    ) as stream:
        final = stream.get_final_message()
    return {"final": blocks(final), "stop_reason": final.stop_reason}


def stream_thinking(client: Any, models: dict[str, str]) -> dict[str, Any]:
    with client.messages.stream(
        model=models["ok"],
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=HELLO,
        **case("stream_thinking"),
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    return {"events": sorted(set(kinds)), "final": blocks(final)}


def raw_stream(client: Any, models: dict[str, str]) -> dict[str, Any]:
    events = client.messages.create(
        model=models["ok"], max_tokens=32, messages=HELLO, stream=True, **case("raw_stream")
    )
    return {"events": [event.type for event in events]}


def async_client(url: str, key: str, models: dict[str, str]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        client = anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0)
        message = await client.messages.create(
            model=models["ok"], max_tokens=32, messages=HELLO, **case("async_create")
        )
        async with client.messages.stream(
            model=models["ok"], max_tokens=32, messages=HELLO, **case("async_stream")
        ) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            final = await stream.get_final_message()
        await client.close()
        return {"create": blocks(message), "text": text, "final": blocks(final)}

    return asyncio.run(run())


def batches(client: Any, models: dict[str, str]) -> dict[str, Any]:
    params = {"model": models["ok"], "max_tokens": 16, "messages": HELLO}
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params} for i in range(3)],
        **case("batch_create"),
    )
    deadline = time.monotonic() + 20
    while batch.processing_status != "ended" and time.monotonic() < deadline:
        time.sleep(0.02)
        batch = client.messages.batches.retrieve(batch.id, **case("batch_poll"))
    results = {
        item.custom_id: {
            "type": item.result.type,
            "text": item.result.message.content[0].text if item.result.type == "succeeded" else "",
        }
        for item in client.messages.batches.results(batch.id, **case("batch_results"))
    }
    return {"status": batch.processing_status, "results": results}


def failure(call: Callable[[], Any]) -> dict[str, Any]:
    """The typed error a call raised: class, its bases, status and request ID."""
    try:
        call()
    except anthropic.APIStatusError as exc:
        return {
            "class": type(exc).__name__,
            "bases": [cls.__name__ for cls in type(exc).__mro__],
            "status": exc.status_code,
            "request_id": exc.request_id,
            "header_request_id": exc.response.headers.get("request-id"),
            "body": exc.body,
        }
    return {"class": None}


def errors(url: str, key: str, models: dict[str, str]) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    wrong_key = anthropic.Anthropic(base_url=url, api_key="sk-ant-not-this-one", max_retries=0)

    def send(name: str, sdk: Any = client, **change: Any) -> Callable[[], Any]:
        params = {"model": models["ok"], "max_tokens": 16, "messages": HELLO, **change}
        return lambda: sdk.messages.create(**params, **case(name))

    bad_block = [{"role": "user", "content": [{"type": "not_a_block"}]}]
    oversized = [{"role": "user", "content": "x" * OVERSIZED_CHARS}]
    return {
        "400": failure(send("e400", messages=bad_block)),
        "401": failure(send("e401", wrong_key)),
        "404": failure(send("e404", model="claude-haiku-4-20250514")),
        "413": failure(send("e413", messages=oversized)),
        "429": failure(send("e429", model=models["rate_limited"])),
        "529": failure(send("e529", model=models["overloaded"])),
    }


def retries(url: str, key: str, models: dict[str, str]) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=2)
    message = client.messages.create(
        model=models["retried"], max_tokens=16, messages=HELLO, **case("retries")
    )
    return {"stop_reason": message.stop_reason}


def main() -> None:
    spec = json.loads(sys.argv[1])
    url, key, models = spec["url"], spec["key"], spec["models"]
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    cases: dict[str, Callable[[], dict[str, Any]]] = {
        "create": lambda: create(client, models),
        "stream_text": lambda: stream_text(client, models),
        "stream_tool_use": lambda: stream_tool_use(client, models),
        "stream_thinking": lambda: stream_thinking(client, models),
        "raw_stream": lambda: raw_stream(client, models),
        "async": lambda: async_client(url, key, models),
        "batches": lambda: batches(client, models),
        "errors": lambda: errors(url, key, models),
        "retries": lambda: retries(url, key, models),
    }
    report: dict[str, Any] = {"sdk_version": anthropic.__version__}
    for name, run in cases.items():
        try:
            report[name] = run()
        except Exception:
            report[name] = {"unexpected": traceback.format_exc(limit=4)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
