"""A request body is the caller's, never the gateway's call options: a body field named like one
of the core client's own arguments (``extra_headers``, and for count_tokens ``timeout`` and
``deadline``) is refused with a 400 naming it, and nothing reaches the upstream.

Before, ``extra_headers`` in a body became the upstream request's headers (a caller could set
``content-length`` and cut the gateway's own request short on a shared upstream connection, or
replace its ``x-api-key``), and ``count_tokens(**body)`` took ``timeout``/``deadline`` from the
body (a string there was a 500).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from error_shape import assert_anthropic_error, message_body

from claude_arch.service.testing import ServiceServer


@pytest.fixture
async def http(dev_service: ServiceServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=dev_service.url) as client:
        yield client


def count_body(**extra: Any) -> dict[str, Any]:
    body = message_body("Hello", **extra)
    body.pop("max_tokens")
    return body


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/messages", message_body(extra_headers={"content-length": "5"}), "extra_headers"),
        ("/v1/messages", message_body(extra_headers={"x-api-key": "sk-other"}), "extra_headers"),
        ("/v1/messages", message_body(extra_headers="x"), "extra_headers"),
        (
            "/v1/messages",
            message_body(stream=True, extra_headers={"x-api-key": "sk-other"}),
            "extra_headers",
        ),
        ("/v1/messages/count_tokens", count_body(extra_headers={"a": "b"}), "extra_headers"),
        ("/v1/messages/count_tokens", count_body(deadline="soon"), "deadline"),
        ("/v1/messages/count_tokens", count_body(timeout=1e-9), "timeout"),
    ],
)
async def test_a_body_field_named_like_a_client_option_is_a_400_and_never_sent(
    http: httpx.AsyncClient,
    hits: list[str],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    r = await http.post(path, json=body, headers={"anthropic-beta": "tools-2024-04-04"})
    message = assert_anthropic_error(r, 400, "invalid_request_error")
    assert message.startswith(f"{field}: "), message
    r = await http.post(path, json=body)  # with no beta header to merge, too
    assert_anthropic_error(r, 400, "invalid_request_error")
    assert hits == []


async def test_the_same_requests_without_those_fields_still_pass(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/messages", json=message_body(), headers={"anthropic-beta": "x"})
    assert r.status_code == 200, r.text
    r = await http.post("/v1/messages/count_tokens", json=count_body())
    assert r.status_code == 200, r.text
