"""A stub Messages API for stream throughput: every ``POST /v1/messages`` with ``"stream": true``
gets the same 20-delta text stream, each event written on its own as the API sends them; any other
POST gets a small JSON message; ``GET /v1/models`` answers for readiness probes.

    python bench/service_baselines/stub_upstream.py --port 4010 [--deltas 20]

No validation, limits, pacing or generation: the least an upstream can cost, so the proxies in
front of it (not the upstream) are what a stream benchmark measures. It imports only aiohttp.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

MESSAGE = {
    "id": "msg_stub", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
    "content": [], "stop_reason": None, "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 1},
}  # fmt: skip
HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


def sse(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_events(deltas: int) -> list[bytes]:
    """The events of one answer: start, one text block of ``deltas`` deltas, end."""
    events = [
        sse("message_start", {"type": "message_start", "message": MESSAGE}),
        sse("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "text", "text": ""}}),
    ]  # fmt: skip
    for i in range(deltas):
        delta = {"type": "text_delta", "text": f"word{i} "}
        events.append(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": delta}))  # fmt: skip
    final = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": deltas}}  # fmt: skip
    events += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse("message_delta", final),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return events


def make_app(deltas: int) -> web.Application:
    events = stream_events(deltas)
    answer = json.dumps({
        **MESSAGE, "content": [{"type": "text", "text": "Hello there"}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 12, "output_tokens": 3},
    }).encode()  # fmt: skip

    async def messages(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if b'"stream":true' not in body.replace(b" ", b""):
            return web.Response(body=answer, content_type="application/json")
        reply = web.StreamResponse(headers=HEADERS)
        await reply.prepare(request)
        for event in events:
            await reply.write(event)
        await reply.write_eof()
        return reply

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"data": [], "has_more": False, "first_id": None,
                                  "last_id": None})  # fmt: skip

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/v1/models", models)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deltas", type=int, default=20)
    args = parser.parse_args()
    web.run_app(
        make_app(args.deltas), host="127.0.0.1", port=args.port, backlog=4096,
        access_log=None, print=None,
    )  # fmt: skip


if __name__ == "__main__":
    main()
