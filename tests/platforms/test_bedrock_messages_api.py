"""Bedrock's Messages endpoint (``POST /anthropic/v1/messages``), which serves the newest models
(the catalog's ``bedrock_api = "messages"``: Opus 4.7 and later): the official SDK's client for
it (``AnthropicBedrockMantle``; its ``AnthropicBedrock`` speaks InvokeModel only) against the
emulator, then our clients, which pick the endpoint per model from the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anthropic
import pytest

from claude_arch import errors
from claude_arch.core.client import ClaudeClient
from claude_arch.core.platforms import AwsCredentials, BedrockTransport, StaticAwsCredentials
from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.core.transports.aiohttp_transport import AiohttpTransport
from claude_arch.core.transports.base import AsyncResponse, WireRequest
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

OPUS = "anthropic.claude-opus-5-5"
HI = [{"role": "user", "content": "hi"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.fixture(scope="module")
def emu_module() -> Iterator[EmulatorServer]:
    with EmulatorServer(keep_requests=20, bedrock_api_keys=["bedrock-api-key-1"]) as server:
        yield server


@pytest.fixture
def emu(emu_module: EmulatorServer) -> EmulatorServer:
    emu_module.set_faults()
    emu_module.clear_rules()
    emu_module.reset()
    return emu_module


def _mantle(emu: EmulatorServer, **kw: Any) -> anthropic.AnthropicBedrockMantle:
    options: dict[str, Any] = {
        "aws_access_key": emu.aws_access_key,
        "aws_secret_key": emu.aws_secret_key,
    }
    options.update(kw)
    return anthropic.AnthropicBedrockMantle(
        base_url=f"{emu.url}/anthropic", aws_region="us-east-1", max_retries=0, **options
    )


# --- the official SDK ----------------------------------------------------------------------


def test_sdk_create_stream_tools_and_count(emu: EmulatorServer) -> None:
    emu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Oslo"}})
    ask = [{"role": "user", "content": "weather in Oslo?"}]
    with _mantle(emu) as client:
        message = client.messages.create(model=OPUS, max_tokens=30, messages=HI)
        with client.messages.stream(model=OPUS, max_tokens=40, messages=HI) as stream:
            texts = list(stream.text_stream)
            final = stream.get_final_message()
        with client.messages.stream(
            model=f"global.{OPUS}", max_tokens=100, messages=ask, tools=TOOLS
        ) as stream:
            called = stream.get_final_message()
        counted = client.messages.count_tokens(model=OPUS, messages=HI)
    assert message.id.startswith("msg_bdrk_")
    assert message.content[0].type == "text"
    assert "".join(texts) == final.content[0].text != ""
    assert final.usage.output_tokens == 40
    call = next(block for block in called.content if block.type == "tool_use")
    assert (call.name, call.input, called.stop_reason) == (
        "get_weather",
        {"city": "Oslo"},
        "tool_use",
    )
    assert counted.input_tokens == message.usage.input_tokens
    assert emu.stats()["by_endpoint"] == {
        "bedrock": {"requests": 4, "messages_api": 4, "served": 3, "count_tokens": 1}
    }


def test_sdk_with_a_bedrock_api_key(emu: EmulatorServer) -> None:
    with _mantle(emu, aws_access_key=None, aws_secret_key=None, api_key="bedrock-api-key-1") as c:
        assert c.messages.create(model=OPUS, max_tokens=10, messages=HI).content


def test_sdk_wrong_secret_gets_bedrocks_403(emu: EmulatorServer) -> None:
    with (
        _mantle(emu, aws_secret_key="not-the-secret") as client,
        pytest.raises(anthropic.PermissionDeniedError) as caught,
    ):
        client.messages.create(model=OPUS, max_tokens=10, messages=HI)
    assert caught.value.response.headers["x-amzn-errortype"].startswith(
        "InvalidSignatureException:"
    )
    assert emu.aws_secret_key not in caught.value.response.text


def test_sdk_throttling_and_overload_are_typed(emu: EmulatorServer) -> None:
    emu.set_faults({"kind": "throttling", "next_n": 1})
    with _mantle(emu) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(model=OPUS, max_tokens=10, messages=HI)
        assert caught.value.response.headers["x-amzn-errortype"].startswith("ThrottlingException:")
        emu.set_faults({"kind": "mid_stream_error", "next_n": 1, "after_deltas": 1})
        with (
            pytest.raises(anthropic.APIStatusError),
            client.messages.stream(model=OPUS, max_tokens=60, messages=HI) as stream,
        ):
            stream.get_final_message()


def test_sdk_unknown_model_id_is_a_validation_error(emu: EmulatorServer) -> None:
    with (
        _mantle(emu) as client,
        pytest.raises(anthropic.BadRequestError, match="model identifier is invalid"),
    ):
        client.messages.create(model="anthropic.claude-opus-9", max_tokens=10, messages=HI)


# --- our clients ---------------------------------------------------------------------------


def _transport(emu: EmulatorServer, secret: str | None = None, **kw: Any) -> BedrockTransport:
    creds = AwsCredentials(emu.aws_access_key, secret or emu.aws_secret_key, "session-tok")
    return BedrockTransport(
        region="eu-west-1", base_url=emu.url, credentials=StaticAwsCredentials(creds), **kw
    )


def _client(transport: Any, **kw: Any) -> ClaudeClient:
    return ClaudeClient(
        api_key="unused", base_url="http://anthropic.invalid", transport=transport, **kw
    )


@pytest.fixture
async def aemu() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(keep_requests=20) as server:
        yield server


async def test_the_catalog_picks_the_endpoint_per_model(aemu: EmulatorServer) -> None:
    aemu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Oslo"}})
    ask = [{"role": "user", "content": "weather?"}]
    async with _client(_transport(aemu, inference_profile="eu")) as client:
        new = await client.create(model="claude-opus-5-5", max_tokens=20, messages=HI)
        async with client.stream(model="claude-sonnet-5-5", max_tokens=30, messages=HI) as s:
            streamed = await s.final_message()
        async with client.stream(
            model="claude-haiku-5-5", max_tokens=100, messages=ask, tools=TOOLS
        ) as s:
            called = await s.final_message()
        counted = await client.count_tokens(model="claude-fable-5-1", messages=HI)
        old = await client.create(model="claude-haiku-4-5", max_tokens=20, messages=HI)
    seen = aemu.received()
    assert [r["path"] for r in seen] == [
        "/anthropic/v1/messages",
        "/anthropic/v1/messages",
        "/anthropic/v1/messages",
        "/model/eu.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
    ]  # count_tokens is not kept; the last is InvokeModel
    assert seen[0]["headers"]["anthropic-version"]
    assert "x-api-key" not in seen[0]["headers"]
    assert new.id.startswith("msg_bdrk_")
    assert streamed.usage.output_tokens == 30
    assert called.stop_reason == "tool_use"
    assert called.content[-1]["input"] == {"city": "Oslo"}
    assert counted > 0
    assert old.id.startswith("msg_bdrk_")
    bedrock = aemu.stats()["by_endpoint"]["bedrock"]
    assert (bedrock["messages_api"], bedrock["requests"], bedrock["count_tokens"]) == (4, 5, 1)


async def test_the_model_goes_in_the_body_as_its_bedrock_id(aemu: EmulatorServer) -> None:
    requests: list[WireRequest] = []

    class Spy(AiohttpTransport):
        async def send(self, request: WireRequest) -> AsyncResponse:
            requests.append(request)
            return await super().send(request)

    async with _client(_transport(aemu, transport=Spy())) as client:
        await client.create(model="claude-opus-4-7", max_tokens=10, messages=HI)
    (sent,) = requests
    assert sent.url == f"{aemu.url}/anthropic/v1/messages"
    assert b'"model":"global.anthropic.claude-opus-4-7"' in (sent.body or b"")
    assert "Credential=" in sent.headers["authorization"]
    assert "/bedrock/aws4_request" in sent.headers["authorization"]


async def test_the_mantle_host_signs_for_bedrock_mantle(aemu: EmulatorServer) -> None:
    """``messages_base_url`` on a bedrock-mantle host: signed for that service (the emulator
    checks the signature against the Host it was signed for)."""
    emulator = urlsplit(aemu.url)

    class ToEmulator(AiohttpTransport):
        async def send(self, request: WireRequest) -> AsyncResponse:
            assert "/bedrock-mantle/aws4_request" in request.headers["authorization"]
            parts = urlsplit(request.url)._replace(scheme="http", netloc=emulator.netloc)
            moved = WireRequest(
                request.method,
                urlunsplit(parts),
                request.headers,
                request.body,
                request.timeout,
                request.connect_timeout,
            )
            return await super().send(moved)

    transport = _transport(
        aemu,
        messages_base_url="https://bedrock-mantle.eu-west-1.api.aws",
        inference_profile=None,
        transport=ToEmulator(),
    )
    async with _client(transport) as client:
        message = await client.create(model="claude-opus-5", max_tokens=10, messages=HI)
    assert message.content
    assert aemu.received()[-1]["body"]["model"] == "claude-opus-5"


async def test_errors_on_the_messages_endpoint_are_typed_without_credentials(
    aemu: EmulatorServer,
) -> None:
    async with _client(_transport(aemu, secret="wrong-secret"), max_retries=0) as client:
        with pytest.raises(errors.PermissionDeniedError) as caught:
            await client.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    text = str(caught.value) + repr(caught.value.body) + repr(caught.value.headers)
    assert "InvalidSignatureException" in text
    for secret in ("wrong-secret", "session-tok", aemu.aws_secret_key):
        assert secret not in text
    aemu.set_faults({"kind": "throttling", "next_n": 1})
    async with _client(_transport(aemu), max_retries=0) as client:
        with pytest.raises(errors.RateLimitError, match="ThrottlingException"):
            await client.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
        aemu.set_faults({"kind": "529", "next_n": 1, "endpoint": "bedrock"})
        with pytest.raises(errors.OverloadedError):
            await client.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
        aemu.set_faults({"kind": "mid_stream_error", "next_n": 1, "after_deltas": 1})
        with pytest.raises(errors.APIStatusError):
            async with client.stream(model="claude-opus-5-5", max_tokens=60, messages=HI) as s:
                await s.final_message()


def test_the_sync_client_on_the_messages_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer() as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.aws_access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.aws_secret_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            upstream="bedrock",
            bedrock_region="us-east-1",
            bedrock_base_url=server.url,
        )
        with SyncClaudeClient(settings) as claude:
            message = claude.create(model="claude-opus-5-5", max_tokens=16, messages=HI)
            with claude.stream(model="claude-fable-5", max_tokens=300, messages=HI) as stream:
                text = "".join(stream.text_stream)
                final = stream.final_message()
        assert message.content
        assert text == final.content[0]["text"]
        assert server.stats()["by_endpoint"]["bedrock"]["messages_api"] == 2
