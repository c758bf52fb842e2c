"""What the sync bridge costs a streamed answer from Bedrock, against the async client directly.

    .venv/bin/python bench/bench_platforms.py [--runs 9] [--tokens 1000] [--speed 20]

A Lambda handler is blocking code: ``SyncClaudeClient`` reaches the async Bedrock transport
through :class:`~claude_arch.core.transports.sync_bridge.SyncBridge` (an event loop in a
daemon thread), so every chunk of a stream crosses between two threads. This measures one
Lambda-sized answer (``--tokens`` output tokens, streamed by the emulator's Bedrock
InvokeModel API at ``--speed`` times the latency model's pace, so chunks arrive one by one as
from the real service) read to its final message by:

- ``async``: ``ClaudeClient`` with ``BedrockTransport`` on the calling thread's loop;
- ``sync bridge``: ``SyncClaudeClient`` with ``SyncBridge(BedrockTransport)`` (chunks read ahead
  on the bridge's loop, handed over in batches);
- ``sync bridge, a hop per chunk``: the same with the bridge's first design, kept here to
  compare: each chunk fetched by a round trip through the loop (``run_coroutine_threadsafe``);
- ``sync httpx``: ``SyncClaudeClient`` over httpx to the emulator's Anthropic API: what the sync
  client costs without a bridge (another wire format: a reference, not a like-for-like).

Then the same three ways of reading without the client (the transport's raw chunks only), which
isolates what crossing threads costs per chunk.

The emulator runs in its own process (pinned to the other core when there are two), so this
process's CPU time is the client's. Runs are interleaved (one stream per variant per run) so
drift hits all alike; the table gives medians: wall time per stream, this process's CPU per
stream and per chunk received, and the wall time a stream takes beyond the async client's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from claude_arch.constants import EMULATOR_API_KEY
from claude_arch.core.client import ClaudeClient
from claude_arch.core.platforms import AwsCredentials, BedrockTransport, StaticAwsCredentials
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest
from claude_arch.core.transports.sync_bridge import SyncBridge, _BridgedResponse
from claude_arch.settings import Settings

MODEL = "claude-haiku-4-5"
EMULATOR = """
import asyncio, sys
from claude_arch.testing import EmulatorServer
async def main():
    async with EmulatorServer(speed=float(sys.argv[1]), rate_limit_tier="none") as emu:
        emu.script(user="story", text="Once upon a time, " + "the river ran on and on. " * 2000)
        print(emu.url, emu.aws_access_key, emu.aws_secret_key, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""
REGION = "us-east-1"


def _pinned(core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


@contextmanager
def emulator(speed: float) -> Iterator[tuple[str, AwsCredentials]]:
    proc = subprocess.Popen(
        [*_pinned(1), sys.executable, "-c", EMULATOR, str(speed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url, access, secret = proc.stdout.readline().split()
        yield url, AwsCredentials(access, secret)
    finally:
        proc.kill()
        proc.wait()


class Counted:
    """An async transport counting the chunks its streamed answers deliver."""

    def __init__(self, inner: AsyncTransport) -> None:
        self.inner = inner
        self.chunks = 0

    async def send(self, request: WireRequest) -> AsyncResponse:
        response = await self.inner.send(request)
        outer = self

        class _Response:
            status = response.status
            headers = response.headers

            async def read(self) -> bytes:
                return await response.read()

            async def iter_chunks(self) -> Any:
                async for chunk in response.iter_chunks():
                    outer.chunks += 1
                    yield chunk

            async def aclose(self) -> None:
                await response.aclose()

        return _Response()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _bedrock(url: str, creds: AwsCredentials) -> BedrockTransport:
    return BedrockTransport(
        region=REGION, base_url=url, credentials=StaticAwsCredentials(creds), inference_profile=None
    )


def _params(tokens: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": tokens,
        "messages": [{"role": "user", "content": "Write a long story."}],
    }


def _settings() -> Settings:
    return Settings(_env_file=None, rate_limit_tier="none", max_retries=0)


Sample = tuple[float, float, int]  # wall s, CPU s, chunks
Variant = tuple[Callable[[], Sample], Callable[[], None]]  # one sample; close


class _HopPerChunk(_BridgedResponse):
    """The bridge's first design: a round trip through the loop for every chunk."""

    def iter_chunks(self) -> Iterator[bytes]:
        chunks = self._inner.iter_chunks()

        async def next_chunk() -> bytes:
            return await chunks.__anext__()

        while True:
            try:
                yield self._bridge.run(next_chunk())
            except StopAsyncIteration:
                return


class HopPerChunkBridge(SyncBridge):
    def send(self, request: WireRequest) -> _BridgedResponse:
        return _HopPerChunk(self, self.run(self.transport.send(request)))


def _raw_request(url: str, tokens: int) -> WireRequest:
    body = json.dumps({**_params(tokens), "stream": True}).encode()
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    return WireRequest("POST", "http://bedrock.invalid/v1/messages", headers, body, 60.0, 10.0)


def run_async(url: str, creds: AwsCredentials, tokens: int) -> Variant:
    loop = asyncio.new_event_loop()
    counted = Counted(_bedrock(url, creds))
    client = ClaudeClient(
        _settings(), api_key="unused", base_url="http://bedrock.invalid", transport=counted
    )

    async def once() -> None:
        async with client.stream(**_params(tokens)) as stream:
            async for _ in stream:
                pass
            message = await stream.final_message()
        assert message.usage.output_tokens == tokens, message.usage

    def sample() -> Sample:
        counted.chunks = 0
        wall, cpu = time.perf_counter(), time.process_time()
        loop.run_until_complete(once())
        return time.perf_counter() - wall, time.process_time() - cpu, counted.chunks

    def close() -> None:
        loop.run_until_complete(client.aclose())
        loop.close()

    loop.run_until_complete(once())  # warm: connection, signing key, caches
    return sample, close


def run_bridge(
    url: str, creds: AwsCredentials, tokens: int, bridge: type[SyncBridge] = SyncBridge
) -> Variant:
    counted: list[Counted] = []

    def make() -> AsyncTransport:
        counted.append(Counted(_bedrock(url, creds)))
        return counted[0]

    client = SyncClaudeClient(
        _settings(), api_key="unused", base_url="http://bedrock.invalid", transport=bridge(make)
    )

    def once() -> None:
        with client.stream(**_params(tokens)) as stream:
            for _ in stream:
                pass
            message = stream.final_message()
        assert message.usage.output_tokens == tokens, message.usage

    def sample() -> Sample:
        counted[0].chunks = 0
        wall, cpu = time.perf_counter(), time.process_time()
        once()
        return time.perf_counter() - wall, time.process_time() - cpu, counted[0].chunks

    once()
    return sample, client.close


def run_httpx(url: str, key: str, tokens: int) -> Variant:
    client = SyncClaudeClient(_settings(), api_key=key, base_url=url)

    def once() -> int:
        events = 0
        with client.stream(**_params(tokens)) as stream:
            for _ in stream:
                events += 1
            message = stream.final_message()
        assert message.usage.output_tokens == tokens, message.usage
        return events

    def sample() -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()
        events = once()
        return time.perf_counter() - wall, time.process_time() - cpu, events

    once()
    return sample, client.close


def raw_async(url: str, creds: AwsCredentials, tokens: int) -> Variant:
    loop = asyncio.new_event_loop()
    transport = _bedrock(url, creds)

    async def once() -> int:
        response = await transport.send(_raw_request(url, tokens))
        chunks = 0
        async for _ in response.iter_chunks():
            chunks += 1
        await response.aclose()
        return chunks

    def sample() -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()
        chunks = loop.run_until_complete(once())
        return time.perf_counter() - wall, time.process_time() - cpu, chunks

    def close() -> None:
        loop.run_until_complete(transport.aclose())
        loop.close()

    loop.run_until_complete(once())
    return sample, close


def raw_bridge(
    url: str, creds: AwsCredentials, tokens: int, bridge: type[SyncBridge] = SyncBridge
) -> Variant:
    sync = bridge(lambda: _bedrock(url, creds))

    def once() -> int:
        response = sync.send(_raw_request(url, tokens))
        chunks = sum(1 for _ in response.iter_chunks())
        response.close()
        return chunks

    def sample() -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()
        chunks = once()
        return time.perf_counter() - wall, time.process_time() - cpu, chunks

    once()
    return sample, sync.close


def measure(variants: dict[str, Variant], runs: int) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {name: [] for name in variants}
    try:
        for _ in range(runs):
            for name, (sample, _close) in variants.items():
                samples[name].append(sample())
    finally:
        for _sample, close in variants.values():
            close()
    return samples


def table(samples: dict[str, list[Sample]], unit: str) -> None:
    base_wall = statistics.median(s[0] for s in samples[next(iter(samples))])
    base_cpu = statistics.median(s[1] for s in samples[next(iter(samples))])
    print(f"| {unit} | wall ms | CPU ms | chunks | CPU µs/chunk | CPU vs first | wall vs first |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, rows in samples.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        chunks = statistics.median(r[2] for r in rows)
        per_chunk = cpu / chunks * 1e6 if chunks else float("nan")
        print(
            f"| {name} | {wall * 1000:,.1f} | {cpu * 1000:,.2f} | {chunks:,.0f} | "
            f"{per_chunk:,.1f} | {(cpu - base_cpu) * 1000:+,.2f} ms | "
            f"{(wall - base_wall) * 1000:+,.1f} ms |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=20.0)
    args = parser.parse_args()
    pin = _pinned(0)
    if pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with emulator(args.speed) as (url, creds):
        client_level = measure(
            {
                "async (ClaudeClient + BedrockTransport)": run_async(url, creds, args.tokens),
                "sync bridge (SyncClaudeClient + SyncBridge)": run_bridge(url, creds, args.tokens),
                "sync bridge, a hop per chunk (first design)": run_bridge(
                    url, creds, args.tokens, HopPerChunkBridge
                ),
                "sync httpx, Anthropic API (reference)": run_httpx(
                    url, EMULATOR_API_KEY, args.tokens
                ),
            },
            args.runs,
        )
        transport_level = measure(
            {
                "async BedrockTransport": raw_async(url, creds, args.tokens),
                "SyncBridge": raw_bridge(url, creds, args.tokens),
                "SyncBridge, a hop per chunk": raw_bridge(
                    url, creds, args.tokens, HopPerChunkBridge
                ),
            },
            args.runs,
        )
    print(
        f"{args.tokens} output tokens streamed by Bedrock InvokeModel, speed x{args.speed:g}, "
        f"{args.runs} runs interleaved, medians (Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores)\n"
    )
    table(client_level, "read to the final message")
    table(transport_level, "raw chunks only")


if __name__ == "__main__":
    main()
