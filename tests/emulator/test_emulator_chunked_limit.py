"""A chunked body (no Content-Length) is refused once it passes the limit, not after 256 MB."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from claude_arch.testing import EmulatorServer


def test_chunked_body_over_the_limit_is_413_without_waiting_for_the_rest() -> None:
    with EmulatorServer(max_request_bytes=64 * 1024) as emu:
        address = urlsplit(emu.url)
        with socket.create_connection((address.hostname, address.port)) as conn:
            head = (
                "POST /v1/messages HTTP/1.1\r\n"
                f"Host: {address.netloc}\r\n"
                f"x-api-key: {emu.api_key}\r\n"
                "anthropic-version: 2023-06-01\r\n"
                "content-type: application/json\r\n"
                "transfer-encoding: chunked\r\n\r\n"
            )
            conn.sendall(head.encode())
            chunk = b"x" * 16 * 1024
            for _ in range(8):  # twice the limit, and the body never ends
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            reply = b""
            while b"\r\n\r\n" not in reply:
                reply += conn.recv(65536)
            while not reply.rstrip().endswith(b"}"):
                reply += conn.recv(65536)
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 413 " in status_line
    body = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["type"] == "request_too_large"
