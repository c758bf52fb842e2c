"""Dev mode needs no key because only this machine can reach a loopback port, but a browser on
this machine visits other sites too: any page could call ``http://127.0.0.1:8080`` (a blind POST,
a WebSocket, which has no CORS at all, or a DNS-rebound name) and spend the Anthropic key. Without
keys, a request whose ``Origin`` or ``Host`` names anything but a loopback host is refused (403
``permission_error``; a WebSocket handshake is refused). With keys required nothing changes.
"""

from __future__ import annotations

import json

import httpx
import pytest
from error_shape import assert_anthropic_error, message_body
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from claude_arch.service.testing import ServiceServer

FOREIGN = [
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"host": "rebound.example:8080"},  # DNS rebinding: a foreign name resolving to 127.0.0.1
    {"origin": "http://localhost.evil.example"},
]


def ws_url(svc: ServiceServer) -> str:
    return svc.url.replace("http://", "ws://") + "/v1/chat/ws"


@pytest.mark.parametrize("headers", FOREIGN)
async def test_dev_mode_refuses_a_foreign_origin_or_host(
    dev_service: ServiceServer, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=dev_service.url) as http:
        r = await http.post("/v1/messages", json=message_body(), headers=headers)
        assert_anthropic_error(r, 403, "permission_error")
        r = await http.post("/v1/chat", json={"text": "hi"}, headers=headers)
        assert_anthropic_error(r, 403, "permission_error")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(dev_service), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin", [None, "http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:8080"]
)
async def test_dev_mode_serves_this_machines_pages(
    dev_service: ServiceServer, origin: str | None
) -> None:
    headers = {"origin": origin} if origin else {}
    async with httpx.AsyncClient(base_url=dev_service.url) as http:
        r = await http.post("/v1/messages", json=message_body(), headers=headers)
        assert r.status_code == 200, r.text
        assert (await http.get("/healthz", headers=headers)).status_code == 200
    async with connect(ws_url(dev_service), additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}


async def test_with_keys_a_foreign_origin_is_the_keys_business(service: ServiceServer) -> None:
    key = await service.create_key("web")
    headers = {"origin": "https://app.example", "x-api-key": key}
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post("/v1/messages", json=message_body(), headers=headers)
    assert r.status_code == 200, r.text
