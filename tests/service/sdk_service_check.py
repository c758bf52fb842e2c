"""Drive an official Anthropic Python SDK (0.x or 2.x line) against the *service*; print JSON.

The cases are ``tests/sdk/sdk_check.py``'s (create + count_tokens, text and tool-use streams, raw
events, the async client) plus the service's own refusals as typed errors: 401 for a bad service
key, 429 for a key over its rpm, 413 over the service's body limit, 400 for a bad field. Imports
only the SDK, the standard library and ``sdk_check``, so any SDK line's interpreter can run it:

    python tests/service/sdk_service_check.py '{"url": "http://127.0.0.1:8080", "key": "sk-ca-…",
        "limited_key": "sk-ca-…", "model": "claude-haiku-4-5", "oversized_chars": 100000}'

``run(spec)`` is the same report in-process (the 2.x SDK from the test's own venv).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

import anthropic
import sdk_check


def service_errors(spec: dict[str, Any]) -> dict[str, Any]:
    url, model = spec["url"], spec["model"]
    client = anthropic.Anthropic(base_url=url, api_key=spec["key"], max_retries=0)
    wrong_key = anthropic.Anthropic(base_url=url, api_key="sk-ca-not-a-key", max_retries=0)
    limited = anthropic.Anthropic(base_url=url, api_key=spec["limited_key"], max_retries=0)

    def send(name: str, sdk: Any = client, **change: Any) -> Callable[[], Any]:
        params = {"model": model, "max_tokens": 16, "messages": sdk_check.HELLO, **change}
        return lambda: sdk.messages.create(**params, **sdk_check.case(name))

    first = send("limit_first", limited)()  # the key's one request this minute
    oversized = [{"role": "user", "content": "x" * spec["oversized_chars"]}]
    bad_block = [{"role": "user", "content": [{"type": "not_a_block"}]}]
    return {
        "limited_first": first.stop_reason,
        "400": sdk_check.failure(send("e400", messages=bad_block)),
        "401": sdk_check.failure(send("e401", wrong_key)),
        "413": sdk_check.failure(send("e413", messages=oversized)),
        "429": sdk_check.failure(send("e429", limited)),
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    url, key, model = spec["url"], spec["key"], spec["model"]
    models = {"ok": model}
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    cases: dict[str, Callable[[], dict[str, Any]]] = {
        "create": lambda: sdk_check.create(client, models),
        "stream_text": lambda: sdk_check.stream_text(client, models),
        "stream_tool_use": lambda: sdk_check.stream_tool_use(client, models),
        "raw_stream": lambda: sdk_check.raw_stream(client, models),
        "async": lambda: sdk_check.async_client(url, key, models),
        "errors": lambda: service_errors(spec),
    }
    report: dict[str, Any] = {"sdk_version": anthropic.__version__}
    for name, case in cases.items():
        try:
            report[name] = case()
        except Exception:
            report[name] = {"unexpected": traceback.format_exc(limit=4)}
    client.close()
    return report


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
