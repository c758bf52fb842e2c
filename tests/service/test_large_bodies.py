"""Bodies over ``OFFLOAD_BYTES`` are parsed and checked in a worker thread (so one large request
does not hold every other on the event loop: bench/bench_big_bodies.py measures that); through
that path they are answered exactly as small ones: served, streamed, or refused naming the field."""

from __future__ import annotations

import json

import httpx

from claude_arch.service.http.bodies import OFFLOAD_BYTES
from claude_arch.service.testing import ServiceServer

HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}


def large_body(**change: object) -> bytes:
    blocks = [{"type": "text", "text": "word"} for _ in range(OFFLOAD_BYTES // 25)]
    body = {
        "model": "claude-haiku-4-5", "max_tokens": 16,
        "messages": [{"role": "user", "content": blocks}], **change,
    }  # fmt: skip
    raw = json.dumps(body).encode()
    assert len(raw) > OFFLOAD_BYTES
    return raw


async def test_large_bodies_are_served_streamed_and_refused_like_small_ones(
    dev_service: ServiceServer, hits: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=dev_service.url, headers=HEADERS, timeout=60) as http:
        created = await http.post("/v1/messages", content=large_body())
        streamed = await http.post("/v1/messages", content=large_body(stream=True))
        bad = await http.post("/v1/messages", content=large_body(max_tokens=-1))
        unknown = await http.post("/v1/messages", content=large_body(model="claude-nope-1"))
        malformed = await http.post("/v1/messages", content=large_body()[:-1])
    assert created.status_code == 200, created.text
    assert created.json()["usage"]["input_tokens"] > OFFLOAD_BYTES // 25
    assert streamed.status_code == 200
    assert streamed.text.rstrip().endswith('data: {"type":"message_stop"}')
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("max_tokens:")
    assert unknown.status_code == 404
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"].startswith("body: malformed JSON")
    assert hits.count("/v1/messages") == 2  # only the two good ones went upstream
