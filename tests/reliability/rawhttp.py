"""HTTP/1.1 over a raw socket, for requests an HTTP client would refuse to send or normalise:
bytes go out exactly as given, and every response that comes back is parsed (so a second,
smuggled response would show).

    answers, closed = await exchange(url, b"GET /healthz HTTP/1.1\\r\\nhost: x\\r\\n\\r\\n")
    answers[0].status, answers[0].headers["content-type"], answers[0].body
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

READ_TIMEOUT_S = 15.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    """Lower-cased names; a repeated header keeps its last value (``repeated`` lists them)."""
    repeated: list[str]
    body: bytes


def parse(raw: bytes) -> tuple[list[Answer], bytes]:
    """The complete responses in ``raw`` and what is left after them (a partial response)."""
    answers: list[Answer] = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        repeated: list[str] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name in headers:
                repeated.append(name)
            headers[name] = value.strip()
        if "content-length" in headers:
            size = int(headers["content-length"])
            if len(rest) < size:
                break
            body, raw = rest[:size], rest[size:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line, sep, rest = rest.partition(b"\r\n")
                if not sep:
                    return answers, raw
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    rest = rest.partition(b"\r\n")[2]  # the empty trailer
                    break
                body, rest = body + rest[:size], rest[size + 2 :]
            raw = rest
        else:  # until the connection closes
            body, raw = rest, b""
        answers.append(Answer(status, headers, repeated, body))
    return answers, raw


async def exchange(
    url: str, request: bytes, *, then: bytes = b"", timeout_s: float = READ_TIMEOUT_S
) -> tuple[list[Answer], bytes]:
    """Send ``request`` (then ``then``, after a first write) and read until the server closes
    the connection; the responses parsed, and any unparsed rest."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        if then:
            await writer.drain()
            writer.write(then)
        with contextlib.suppress(ConnectionError):  # refused before all was sent: read the answer
            await writer.drain()
        chunks = []
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    chunk = await reader.read(1 << 16)
                except ConnectionError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return parse(b"".join(chunks))
    finally:
        writer.close()


def build(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    headers: list[tuple[str, str]] | None = None,
    raw_headers: bytes = b"",
    content_type: str | None = "application/json",
    length: bool = True,
) -> bytes:
    """A request with ``connection: close`` (the server ends the exchange), ``headers`` as
    given, then ``raw_headers`` verbatim; ``content-length`` unless ``length`` is False."""
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", "connection: close"]
    if content_type is not None:
        lines.append(f"content-type: {content_type}")
    if length:
        lines.append(f"content-length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers or []]
    return "\r\n".join(lines).encode() + b"\r\n" + raw_headers + b"\r\n" + body


def chunked(body: bytes, size: int = 7) -> bytes:
    """``body`` in chunks of ``size`` bytes, with the last chunk."""
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
             for i in range(0, len(body), size)]  # fmt: skip
    return b"".join(parts) + b"0\r\n\r\n"
