"""The gateway's own cost per request: the service's ASGI app driven in this process, its upstream
replaced by a canned answer, so no network, server or emulator is in the figure.

    .venv/bin/python bench/bench_gateway.py                    # µs per request, best of 5 runs
    .venv/bin/python bench/bench_gateway.py --profile tottime  # and where they go (cProfile)

What it runs is what ``POST /v1/messages`` runs in ``claude-arch serve`` for a small JSON call
with a real service key: the request context and access line, key lookup, body parsing and
validation, admission and settlement, the core client's attempt loop, usage record and meters,
and the answer. Only the HTTP server (uvicorn) and the upstream connection (aiohttp) are left
out: ``bench_service.py --floor`` measures those. Steadier than a wrk run (a few % between runs
against ±10 % there), so it is the figure to compare before and after a change to the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import io
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).parent))  # the service_harness package beside this file

from claude_arch.core.transports.base import WireRequest
from claude_arch.core.wire import fastjson
from claude_arch.service.app import create_app
from claude_arch.service.config import ServiceSettings
from claude_arch.service.http.hangup import HANGUP, Hangup
from claude_arch.service.operations.logs import configure_logging
from service_baselines.stub_upstream import stream_events
from service_harness.scenarios_wrk import SMALL  # the body the wrk scenarios send

ANSWER = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "Hello there, how can I help you today?"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 14, "output_tokens": 11},
    }
).encode()


class CannedResponse:
    status = 200
    headers: ClassVar[dict[str, str]] = {
        "content-type": "application/json",
        "request-id": "req_upstream",
    }

    async def read(self) -> bytes:
        return ANSWER

    async def aclose(self) -> None:
        return None


class CannedStream(CannedResponse):
    """A streamed answer: the stub upstream's 20-delta events, ``per_chunk`` events a chunk."""

    headers: ClassVar[dict[str, str]] = {
        "content-type": "text/event-stream",
        "request-id": "req_upstream",
    }

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


class CannedTransport:
    """The core client's transport, answering every request at once with :data:`ANSWER` (a
    stream with :class:`CannedStream`'s events)."""

    def __init__(self, per_chunk: int = 1) -> None:
        events = stream_events(20)
        self.chunks = [
            b"".join(events[i : i + per_chunk]) for i in range(0, len(events), per_chunk)
        ]

    async def send(self, request: WireRequest) -> CannedResponse:
        if request.body is not None and b'"stream":true' in request.body:
            return CannedStream(self.chunks)
        return CannedResponse()

    async def aclose(self) -> None:
        return None


async def lifespan(app: Any, messages: asyncio.Queue[dict[str, Any]]) -> asyncio.Task[None]:
    """Start the app's lifespan; ``messages.put({"type": "lifespan.shutdown"})`` ends it."""
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.failed":
            raise SystemExit(f"the service did not start: {message.get('message')}")
        started.set()

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await messages.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app(scope, messages.get, send))
    await started.wait()
    return task


async def run(
    requests: int, repeat: int, profile: str | None, *, stream: bool, per_chunk: int
) -> None:
    devnull = open(os.devnull, "w")  # noqa: ASYNC230, SIM115 (before any request; closed below)
    with tempfile.TemporaryDirectory() as data_dir, devnull:
        configure_logging("INFO", devnull)  # the access line is written, to nowhere
        settings = ServiceSettings(
            _env_file=None,
            data_dir=Path(data_dir),
            rate_limit_tier="none",
            api_key="sk-ant-bench",
            base_url="http://127.0.0.1:9",
        )
        app = create_app(settings)
        messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        running = await lifespan(app, messages)
        gateway = app.state.gateway
        gateway.client._transport = CannedTransport(per_chunk)
        _, secret = await gateway.keys.create("bench")
        body = json.dumps({**SMALL, "stream": True} if stream else SMALL).encode()
        headers = [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", b"application/json"),
            (b"anthropic-version", b"2023-06-01"),
            (b"x-api-key", secret.encode()),
            (b"content-length", str(len(body)).encode()),
        ]

        async def one() -> None:
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "POST", "path": "/v1/messages", "raw_path": b"/v1/messages",
                "query_string": b"", "headers": headers, "client": ("127.0.0.1", 50000),
                "server": ("127.0.0.1", 8080), "scheme": "http", "root_path": "", "state": {},
                "extensions": {HANGUP: Hangup()},  # as uvicorn's HangupProtocol gives it
            }  # fmt: skip
            incoming = [{"type": "http.request", "body": body, "more_body": False}]
            status: list[int] = []

            async def receive() -> dict[str, Any]:
                if incoming:
                    return incoming.pop()
                await asyncio.Event().wait()  # never: the body is the only message
                raise AssertionError

            async def send(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])

            await app(scope, receive, send)
            if status != [200]:
                raise SystemExit(f"the service answered {status}, not 200")

        for _ in range(500):  # warm-up: caches, the key lookup, pydantic's first validations
            await one()
        profiler = cProfile.Profile() if profile else None
        best = float("inf")
        for _ in range(1 if profiler else repeat):
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            for _ in range(requests):
                await one()
            best = min(best, time.perf_counter() - started)
            if profiler:
                profiler.disable()
        await messages.put({"type": "lifespan.shutdown"})
        await running
    if profiler:
        out = io.StringIO()
        rows = int(os.environ.get("BENCH_PROFILE_ROWS", "30"))
        pstats.Stats(profiler, stream=out).sort_stats(profile).print_stats(rows)  # type: ignore[arg-type]
        print(out.getvalue())
        print("(under cProfile, which slows Python code about 2.5×)")
    print(f"| requests | best of {repeat if not profiler else 1} | µs per request |")
    print("|---:|---|---:|")
    print(f"| {requests:,} | {best:.3f} s | {best / requests * 1e6:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per run (3000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is reported (5)")
    parser.add_argument(
        "--profile", choices=("tottime", "cumulative"), help="one run under cProfile, sorted so"
    )
    parser.add_argument(
        "--stdlib-json", action="store_true", help="the standard library's json, not orjson"
    )
    parser.add_argument(
        "--stream", action="store_true", help="streamed requests (20 deltas) instead of JSON"
    )
    parser.add_argument(
        "--per-chunk", type=int, default=1, help="with --stream: SSE events per upstream chunk (1)"
    )
    args = parser.parse_args()
    if args.stdlib_json:
        fastjson.orjson = None  # what core/wire/fastjson.py does when orjson is missing
    print(f"# bench_gateway.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{platform.processor() or platform.machine()}; Python {platform.python_version()}")
    print("json: " + ("standard library" if fastjson.orjson is None else "orjson"))
    print("answer: " + (f"stream, {args.per_chunk} event(s) a chunk" if args.stream else "JSON"))
    asyncio.run(
        run(args.requests, args.repeat, args.profile, stream=args.stream, per_chunk=args.per_chunk)
    )


if __name__ == "__main__":
    main()
