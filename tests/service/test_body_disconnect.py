"""A client that goes away half-way through sending its body: the request ends as cancelled (499
in the access log), nothing reaches the upstream, no traceback is logged as if it were a bug.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from error_shape import message_body
from log_capture import json_logs
from upstream_watch import until

from claude_arch.service.testing import ServiceServer


async def test_a_body_cut_short_is_a_cancelled_request(
    service: ServiceServer, hits: list[str]
) -> None:
    secret = await service.create_key("half-a-body")
    body = json.dumps(message_body("Hello")).encode()
    parts = urlsplit(service.url)
    head = (
        "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"x-api-key: {secret}\r\nx-request-id: req-test-half-a-body\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()
    with json_logs() as logs:
        _reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(head + body[: len(body) // 2])
        await writer.drain()
        await until(lambda: service.server is not None and bool(service.server.server_state.tasks))
        writer.close()
        await writer.wait_closed()

        def logged() -> bool:
            return any(line.get("request_id") == "req-test-half-a-body" for line in logs.lines())

        await until(logged, timeout_s=5)
    mine = [line for line in logs.lines() if line.get("request_id") == "req-test-half-a-body"]
    access = [line for line in mine if line["logger"] == "claude_arch.service.access"]
    assert [line["status"] for line in access] == [499], mine
    assert not [line for line in mine if line["level"] in ("error", "critical")], mine
    assert not any("exc" in line for line in mine), mine
    assert not hits  # nothing was sent upstream
