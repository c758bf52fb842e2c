"""An error answered by something in front of the Messages API (a load balancer, an egress proxy,
a CDN's error page: no ``request-id`` header) is still an upstream error: its headers stay out of
the service's response (a copied ``content-length`` or ``content-type`` would break it), and a
401/403 there is the gateway's credentials problem (502), never the caller's key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from error_shape import assert_anthropic_error, message_body

from claude_arch.service.config import ServiceSettings
from claude_arch.service.testing import ServiceServer

PAGE = "<html><body><h1>502 Bad Gateway</h1>" + "x" * 300 + "</body></html>"


async def front(request: web.Request) -> web.Response:
    """What an LB in front of the API answers: HTML, its own headers, no request-id."""
    status = int(request.headers.get("x-test-status", "502"))
    if request.path.endswith("count_tokens"):
        status = 401
    return web.Response(
        status=status,
        text=PAGE,
        content_type="text/html",
        headers={"set-cookie": "lb=abc; Path=/", "x-lb-node": "edge-7"},
    )


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[ServiceServer]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", front)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = ServiceSettings(
        _env_file=None,
        base_url=f"http://127.0.0.1:{port}",
        api_key="sk-test-upstream",
        data_dir=tmp_path,
        port=0,
        dev=True,
        max_retries=0,
        rate_limit_tier="none",
    )
    try:
        async with ServiceServer(settings) as svc:
            yield svc
    finally:
        await runner.cleanup()


async def test_a_foreign_5xx_is_a_clean_anthropic_error_without_the_fronts_headers(
    service: ServiceServer,
) -> None:
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post("/v1/messages", json=message_body())
    assert_anthropic_error(r, 502, "api_error")  # parses: content-type and length are ours
    assert int(r.headers["content-length"]) == len(r.content)
    assert "set-cookie" not in r.headers
    assert "x-lb-node" not in r.headers


async def test_a_foreign_401_is_the_gateways_credentials_not_the_callers_key(
    service: ServiceServer,
) -> None:
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post("/v1/messages/count_tokens", json={**message_body(), "max_tokens": 1})
    message = assert_anthropic_error(r, 502, "api_error")
    assert "upstream credentials" in message
    assert "set-cookie" not in r.headers
