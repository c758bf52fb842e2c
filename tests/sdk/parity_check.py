"""Drive an official Anthropic Python SDK (0.x or 2.x line) through each parity case; print JSON.

For every case (a Messages request without ``model``), three ways a user meets it: a JSON
``messages.create``, the raw events of ``messages.create(stream=True)``, and the final message
of the ``messages.stream(...)`` helper. Run against the emulator directly and through the gateway,
the two reports must agree (``test_stream_parity.py``). Imports only the SDK and the standard
library, so any SDK line's interpreter can run it:

    python tests/sdk/parity_check.py '{"url": "http://127.0.0.1:8080", "key": "sk-…",
        "model": "claude-haiku-4-5", "cases": {"text": {"max_tokens": 64, "messages": […]}}}'

``run(spec)`` is the same report in-process. A case that raises is reported as
``{"unexpected": "…"}`` so one broken case does not hide the others.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import anthropic


def dump(obj: Any) -> Any:
    """An SDK model as plain JSON data (both SDK lines are pydantic-based)."""
    return json.loads(obj.model_dump_json())


def run_case(client: Any, params: dict[str, Any]) -> dict[str, Any]:
    created = client.messages.create(**params)
    events = [
        {"event": event.type, "data": dump(event)}
        for event in client.messages.create(**params, stream=True)
    ]
    with client.messages.stream(**params) as stream:
        helper_events = [event.type for event in stream]
        final = stream.get_final_message()
    return {
        "json": dump(created),
        "raw_events": events,
        "stream_final": dump(final),
        "helper_event_types": sorted(set(helper_events)),
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=spec["url"], api_key=spec["key"], max_retries=0)
    report: dict[str, Any] = {"sdk_version": anthropic.__version__, "cases": {}}
    for name, params in spec["cases"].items():
        try:
            report["cases"][name] = run_case(client, {"model": spec["model"], **params})
        except Exception:
            report["cases"][name] = {"unexpected": traceback.format_exc(limit=6)}
    client.close()
    return report


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
