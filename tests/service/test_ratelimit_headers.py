"""Every gateway answer carries ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
{limit,remaining,reset}`` describing what binds *this caller*: kind by kind the tighter of its
service key's limits and the organisation's (the upstream's own headers), read with the official
SDK's raw responses; a key's 429 carries ``retry-after`` in whole seconds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from claude_arch.constants import RATELIMIT_KINDS
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

MODEL = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]
NAMES = [
    f"anthropic-ratelimit-{kind}-{field}"
    for kind in RATELIMIT_KINDS
    for field in ("limit", "remaining", "reset")
]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmulatorServer, ServiceServer]]:
    """An upstream with tier-1 limits (haiku: 50 rpm, 50k itpm, 10k otpm) behind the gateway."""
    with (
        EmulatorServer(rate_limit_tier="tier1") as emu,
        ServiceServer.for_emulator(emu, tmp_path_factory.mktemp("rl")) as svc,
    ):
        yield emu, svc


def sdk(svc: ServiceServer, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=svc.url, api_key=key, max_retries=0)


def limits_of(headers: Any) -> dict[str, str]:
    found = {name: headers[name] for name in NAMES if name in headers}
    assert sorted(found) == sorted(NAMES), f"missing: {sorted(set(NAMES) - set(found))}"
    for name, value in found.items():
        assert RFC3339.match(value) if name.endswith("-reset") else value.isdigit(), (name, value)
    return found


def three_answers(client: anthropic.Anthropic) -> list[dict[str, str]]:
    """The limit headers of a JSON answer, a stream and a count_tokens answer."""
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": HELLO}
    created = client.messages.with_raw_response.create(**params)
    with client.messages.with_streaming_response.create(**params, stream=True) as streamed:
        streamed.read()
        stream_headers = streamed.headers
    counted = client.messages.with_raw_response.count_tokens(model=MODEL, messages=HELLO)
    return [limits_of(created.headers), limits_of(stream_headers), limits_of(counted.headers)]


@pytest.mark.sdk
def test_a_key_without_limits_sees_the_organisations(
    servers: tuple[EmulatorServer, ServiceServer],
) -> None:
    emu, svc = servers
    client = sdk(svc, svc.create_key_sync("unlimited"))
    for headers in three_answers(client):
        assert headers["anthropic-ratelimit-requests-limit"] == "50"
        assert headers["anthropic-ratelimit-input-tokens-limit"] == "50000"
        assert headers["anthropic-ratelimit-output-tokens-limit"] == "10000"
        assert int(headers["anthropic-ratelimit-requests-remaining"]) < 50  # the org's count
    direct = anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0)
    upstream = direct.messages.with_raw_response.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert limits_of(upstream.headers).keys() == set(NAMES)  # the same names as the API's


@pytest.mark.sdk
def test_a_limited_key_sees_the_tighter_of_its_own_and_the_organisations(
    servers: tuple[EmulatorServer, ServiceServer],
) -> None:
    _, svc = servers
    client = sdk(svc, svc.create_key_sync("limited", rpm=5, tpm=30_000))
    json_h, stream_h, count_h = three_answers(client)
    # requests: the key's 5 a minute binds before the organisation's 50
    assert [h["anthropic-ratelimit-requests-limit"] for h in (json_h, stream_h, count_h)] == [
        "5",
        "5",
        "5",
    ]
    assert json_h["anthropic-ratelimit-requests-remaining"] == "4"
    assert count_h["anthropic-ratelimit-requests-remaining"] == "2"
    for headers in (json_h, stream_h):
        # input tokens: the key's 30k (input + output in one bucket) binds before the org's 50k
        assert headers["anthropic-ratelimit-input-tokens-limit"] == "30000"
        # output tokens: the org's 10k binds before what is left of the key's 30k
        assert headers["anthropic-ratelimit-output-tokens-limit"] == "10000"


@pytest.mark.sdk
def test_a_keys_429_says_when_to_retry_in_whole_seconds(
    servers: tuple[EmulatorServer, ServiceServer],
) -> None:
    _, svc = servers
    client = sdk(svc, svc.create_key_sync("one-a-minute", rpm=1))
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    headers = refused.value.response.headers
    assert headers["retry-after"].isdigit()
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["anthropic-ratelimit-requests-limit"] == "1"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
