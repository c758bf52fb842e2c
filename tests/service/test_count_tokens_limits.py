"""``count_tokens`` is a request sent upstream like any other: it takes one request from the
key's rpm (so one tenant cannot spend the organisation's count_tokens limit for everyone), and
its answer carries the key's rate-limit headers. Before, it was authenticated but never counted.
"""

from __future__ import annotations

import httpx
from error_shape import assert_anthropic_error, message_body

from claude_arch.service.testing import ServiceServer


def count_body() -> dict[str, object]:
    body = message_body("Hello")
    body.pop("max_tokens")
    return body


async def test_count_tokens_takes_from_the_keys_rpm(
    service: ServiceServer, hits: list[str]
) -> None:
    key = await service.create_key("counter", rpm=2)
    headers = {"x-api-key": key}
    async with httpx.AsyncClient(base_url=service.url, headers=headers) as http:
        for left in (1, 0):
            r = await http.post("/v1/messages/count_tokens", json=count_body())
            assert r.status_code == 200, r.text
            assert r.headers["anthropic-ratelimit-requests-remaining"] == str(left)
        r = await http.post("/v1/messages/count_tokens", json=count_body())
        assert_anthropic_error(r, 429, "rate_limit_error")
        r = await http.post("/v1/messages", json=message_body())  # the same minute's budget
        assert_anthropic_error(r, 429, "rate_limit_error")
    assert hits == ["/v1/messages/count_tokens"] * 2


async def test_count_tokens_still_works_for_an_unlimited_key(service: ServiceServer) -> None:
    key = await service.create_key("free")
    async with httpx.AsyncClient(base_url=service.url, headers={"x-api-key": key}) as http:
        for _ in range(5):
            r = await http.post("/v1/messages/count_tokens", json=count_body())
            assert r.status_code == 200, r.text
            assert r.json()["input_tokens"] > 0
