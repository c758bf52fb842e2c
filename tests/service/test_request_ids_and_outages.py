"""Request ids follow a request through the load balancer; a store outage is a clean 502 that
names the store but none of its addresses; log lines are JSON without terminal colour codes."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from claude_arch.core.sql import make_engine
from claude_arch.service.operations.logs import JsonFormatter
from claude_arch.service.testing import ServiceServer

HELLO = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


async def test_a_load_balancers_request_id_is_kept(service: ServiceServer) -> None:
    key = await service.create_key()
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.post(
            "/v1/messages",
            json=HELLO,
            headers={"x-api-key": key, "x-request-id": "3f2c9a10-lb-0042"},
        )
    assert r.status_code == 200
    assert r.headers.get_list("request-id") == ["3f2c9a10-lb-0042"]


@pytest.mark.parametrize(
    "bad", [b"short", b"has spaces in it", b"x" * 200, "evil\u00e9id-123456".encode()]
)
async def test_an_odd_request_id_is_replaced(service: ServiceServer, bad: bytes) -> None:
    async with httpx.AsyncClient(base_url=service.url) as http:
        r = await http.get("/healthz", headers=[(b"x-request-id", bad)])
    assert r.headers["request-id"].startswith("req_")


async def test_a_key_store_outage_is_a_502_that_names_no_address(
    service: ServiceServer, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = "postgresql://claude@127.0.0.1:1/gone"
    dead = make_engine(unreachable)
    service.gateway.keys.engine = dead
    try:
        async with httpx.AsyncClient(base_url=service.url) as http:
            r = await http.post(
                "/v1/messages", json=HELLO, headers={"x-api-key": "sk-ca-" + "a" * 43}
            )
    finally:
        await dead.dispose()
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["error"]["type"] == "api_error"
    assert "key store is unreachable" in body["error"]["message"]
    assert "127.0.0.1" not in r.text
    assert ":1" not in body["error"]["message"]
    assert "Traceback" not in caplog.text


def test_uvicorns_colour_copy_of_a_message_is_not_logged() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.colour")
    logger.addHandler(handler)
    try:
        logger.warning("plain", extra={"color_message": "\x1b[32mplain\x1b[0m", "port": 8080})
    finally:
        logger.removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["msg"] == "plain"
    assert line["port"] == 8080
    assert "color_message" not in line
