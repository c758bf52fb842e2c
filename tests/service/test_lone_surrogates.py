"""A JSON body may escape a lone UTF-16 surrogate (``"\\ud800"``): ``json.loads`` accepts it, but
it cannot be encoded as UTF-8 for the upstream. Such a body is a 400 naming ``body``, not a 500
from deep inside the upstream call; an escaped surrogate *pair* (an emoji) is fine.
"""

from __future__ import annotations

import httpx
import pytest
from error_shape import assert_anthropic_error

from claude_arch.service.testing import ServiceServer

MODEL = b'"model":"claude-haiku-4-5"'
MESSAGES = b'"messages":[{"role":"user","content":"%s"}]'


def raw_body(text: bytes, *, stream: bool = False, count: bool = False) -> bytes:
    fields = [MODEL, MESSAGES % text]
    if not count:
        fields.append(b'"max_tokens":16')
    if stream:
        fields.append(b'"stream":true')
    return b"{" + b",".join(fields) + b"}"


CASES = [
    ("/v1/messages", {}),
    ("/v1/messages", {"stream": True}),
    ("/v1/messages/count_tokens", {"count": True}),
]


@pytest.mark.parametrize(("path", "options"), CASES)
@pytest.mark.parametrize("escape", [b"\\ud800", b"a\\uDFFF b", b"\\ud83d"])
async def test_a_lone_surrogate_is_a_400_naming_the_body(
    dev_service: ServiceServer, path: str, options: dict[str, bool], escape: bytes
) -> None:
    async with httpx.AsyncClient(base_url=dev_service.url) as http:
        r = await http.post(path, content=raw_body(escape, **options))
    message = assert_anthropic_error(r, 400, "invalid_request_error")
    assert message.startswith("body: "), message
    assert dev_service.gateway.gate.inflight == 0


@pytest.mark.parametrize(("path", "options"), CASES)
async def test_an_escaped_surrogate_pair_passes(
    dev_service: ServiceServer, path: str, options: dict[str, bool]
) -> None:
    async with httpx.AsyncClient(base_url=dev_service.url) as http:
        r = await http.post(path, content=raw_body(b"smile \\ud83d\\ude00", **options))
    assert r.status_code == 200, r.text
