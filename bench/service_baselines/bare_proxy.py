"""The baseline: a bare aiohttp pass-through proxy for ``POST /v1/messages``, nothing else.

    python bench/service_baselines/bare_proxy.py --port 8090 --upstream http://127.0.0.1:4010 \
        --api-key sk-ant-upstream

It swaps the caller's key for the upstream key, forwards the body and the Anthropic headers, and
copies the answer back (a stream chunk by chunk as it arrives). No auth, limits, metering, retries,
validation or logging: the least any Python proxy on this stack can cost, so the service's figures
are judged against it in the same run. It imports only aiohttp, on purpose.
"""

from __future__ import annotations

import argparse

import aiohttp
from aiohttp import web

FORWARDED = ("anthropic-version", "anthropic-beta", "content-type")


def make_app(upstream: str, api_key: str) -> web.Application:
    async def start(app: web.Application) -> None:
        # no connection cap: the service's own cap is what the benchmark is about, not this one's
        connector = aiohttp.TCPConnector(limit=0)
        app["session"] = aiohttp.ClientSession(
            upstream, connector=connector, timeout=aiohttp.ClientTimeout(total=None)
        )

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def messages(request: web.Request) -> web.StreamResponse:
        headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
        headers["x-api-key"] = api_key
        session: aiohttp.ClientSession = request.app["session"]
        body = await request.read()
        async with session.post("/v1/messages", data=body, headers=headers) as upstream_reply:
            content_type = upstream_reply.headers.get("content-type", "application/json")
            if not content_type.startswith("text/event-stream"):
                return web.Response(
                    body=await upstream_reply.read(),
                    status=upstream_reply.status,
                    headers={"content-type": content_type},
                )
            reply = web.StreamResponse(
                status=upstream_reply.status, headers={"content-type": content_type}
            )
            await reply.prepare(request)
            async for chunk in upstream_reply.content.iter_any():
                await reply.write(chunk)
            await reply.write_eof()
            return reply

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:4010")
    parser.add_argument("--api-key", required=True, help="the key sent upstream")
    args = parser.parse_args()
    web.run_app(
        make_app(args.upstream, args.api_key),
        host=args.host,
        port=args.port,
        backlog=4096,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
