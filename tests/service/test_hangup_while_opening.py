"""A client that hangs up while its stream is still opening (before the first token: a long
prompt, a retry waiting out a 429) stops the upstream call at once, as one that hangs up after
content does: the stream's opening is watched for the disconnect too, on ``/v1/messages`` and
on ``/v1/chat``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from error_shape import message_body
from upstream_watch import UpstreamWatch, until

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

STOP_WITHIN_S = 1.0  # the upstream waits 30 s before its first byte: anything near 1 s is "at once"


async def hang_up_while_opening(
    svc: ServiceServer, watch: UpstreamWatch, path: str, body: dict[str, Any]
) -> float:
    """Send ``body`` to ``path``, hang up once the upstream has it; when the client hung up."""
    async with httpx.AsyncClient(base_url=svc.url, timeout=60) as http:
        call = asyncio.create_task(http.post(path, json=body))
        await until(lambda: bool(watch.started))
        hung_up = time.monotonic()
        call.cancel()  # closes the client's connection before any byte came back
        await asyncio.gather(call, return_exceptions=True)
    return hung_up


async def test_a_stream_whose_client_hangs_up_before_the_first_token_stops_upstream(
    late_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path
) -> None:
    async with ServiceServer.for_emulator(late_upstream, tmp_path, dev=True) as svc:
        body = message_body("late", stream=True)
        hung_up = await hang_up_while_opening(svc, watch, "/v1/messages", body)
        await until(lambda: bool(watch.stopped), timeout_s=5)
        assert watch.stopped[0] - hung_up < STOP_WITHIN_S
        await until(lambda: svc.gateway.gate.inflight == 0, timeout_s=2)


async def test_a_chat_whose_client_hangs_up_before_the_first_token_stops_upstream(
    late_upstream: EmulatorServer, watch: UpstreamWatch, tmp_path: Path
) -> None:
    async with ServiceServer.for_emulator(late_upstream, tmp_path, dev=True) as svc:
        hung_up = await hang_up_while_opening(svc, watch, "/v1/chat", {"text": "late"})
        await until(lambda: bool(watch.stopped), timeout_s=5)
        assert watch.stopped[0] - hung_up < STOP_WITHIN_S
        await until(lambda: svc.gateway.gate.inflight == 0, timeout_s=2)
