"""The floor of the service's own stack: uvicorn (httptools, uvloop) running a raw ASGI app that
forwards ``POST /v1/messages`` through an aiohttp client session, and nothing else.

    python bench/service_baselines/asgi_forwarder.py --port 8091 --upstream http://127.0.0.1:4010 \
        --api-key sk-ant-upstream

The service runs on the same server and the same client; what it costs beyond this forwarder is
the gateway's own work (auth, validation, admission, metering, the access log), and what this
costs beyond the bare aiohttp proxy is the server. A streamed answer is sent chunk by chunk as it
arrives, as the bare proxy does. It imports only uvicorn and aiohttp, on purpose.
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import uvicorn

FORWARDED = (b"anthropic-version", b"anthropic-beta", b"content-type")


def make_app(upstream: str, api_key: str) -> Any:
    state: dict[str, aiohttp.ClientSession] = {}

    async def lifespan(receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                connector = aiohttp.TCPConnector(limit=0)
                state["session"] = aiohttp.ClientSession(upstream, connector=connector)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await state["session"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in FORWARDED}
        headers["x-api-key"] = api_key
        async with state["session"].post("/v1/messages", data=body, headers=headers) as reply:
            content_type = reply.headers.get("content-type", "application/json").encode()
            if content_type.startswith(b"text/event-stream"):
                start = {"type": "http.response.start", "status": reply.status,
                         "headers": [(b"content-type", content_type)]}  # fmt: skip
                await send(start)
                async for chunk in reply.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            data = await reply.read()
            await send(
                {
                    "type": "http.response.start",
                    "status": reply.status,
                    "headers": [
                        (b"content-type", content_type),
                        (b"content-length", str(len(data)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": data})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:4010")
    parser.add_argument("--api-key", required=True, help="the key sent upstream")
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.upstream, args.api_key),
        host=args.host,
        port=args.port,
        backlog=4096,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
