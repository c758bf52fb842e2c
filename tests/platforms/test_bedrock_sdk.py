"""The official SDK's ``AnthropicBedrock``, unchanged, against the emulator's Bedrock API."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from claude_arch.testing import EmulatorServer

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def bedrock(emu: EmulatorServer) -> Iterator[anthropic.AnthropicBedrock]:
    emu.set_faults()
    emu.clear_rules()
    emu.reset()
    with anthropic.AnthropicBedrock(
        base_url=emu.url,
        aws_region="us-east-1",
        aws_access_key=emu.aws_access_key,
        aws_secret_key=emu.aws_secret_key,
        max_retries=0,
    ) as client:
        yield client


def test_create(bedrock: anthropic.AnthropicBedrock, emu: EmulatorServer) -> None:
    message = bedrock.messages.create(model=HAIKU, max_tokens=30, messages=HI)
    assert message.id.startswith("msg_bdrk_")
    assert message.content[0].type == "text"
    assert message.usage.output_tokens > 0
    assert emu.stats()["by_endpoint"] == {"bedrock": {"requests": 1, "served": 1}}


def test_stream_to_the_final_message(bedrock: anthropic.AnthropicBedrock) -> None:
    with bedrock.messages.stream(model=SONNET, max_tokens=40, messages=HI) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == final.content[0].text != ""
    assert final.usage.output_tokens == 40
    assert final.stop_reason == "max_tokens"


def test_tools(bedrock: anthropic.AnthropicBedrock, emu: EmulatorServer) -> None:
    emu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Oslo"}})
    tools = [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    ask = [{"role": "user", "content": "weather in Oslo?"}]
    with bedrock.messages.stream(model=HAIKU, max_tokens=100, messages=ask, tools=tools) as s:
        final = s.get_final_message()
    call = next(block for block in final.content if block.type == "tool_use")
    assert (call.name, call.input, final.stop_reason) == (
        "get_weather",
        {"city": "Oslo"},
        "tool_use",
    )


def test_a_wrong_secret_is_bedrocks_403(emu: EmulatorServer) -> None:
    with (
        anthropic.AnthropicBedrock(
            base_url=emu.url,
            aws_region="us-east-1",
            aws_access_key=emu.aws_access_key,
            aws_secret_key="not-the-secret",
            max_retries=0,
        ) as client,
        pytest.raises(anthropic.PermissionDeniedError) as caught,
    ):
        client.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert caught.value.response.headers["x-amzn-errortype"].startswith(
        "InvalidSignatureException:"
    )
    assert caught.value.body["message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    assert emu.aws_secret_key not in caught.value.response.text


def test_throttling_is_a_rate_limit_error(
    bedrock: anthropic.AnthropicBedrock, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "throttling", "next_n": 1})
    with pytest.raises(anthropic.RateLimitError) as caught:
        bedrock.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert caught.value.response.headers["x-amzn-errortype"].startswith("ThrottlingException:")
    assert bedrock.messages.create(model=HAIKU, max_tokens=10, messages=HI).id  # next_n used up


def test_a_throttled_stream_fails_before_its_first_event(
    bedrock: anthropic.AnthropicBedrock, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "throttling", "next_n": 1, "endpoint": "bedrock"})
    with pytest.raises(anthropic.RateLimitError):
        bedrock.messages.create(model=HAIKU, max_tokens=10, messages=HI, stream=True)


def test_mid_stream_failure_arrives_as_an_exception_frame(
    bedrock: anthropic.AnthropicBedrock, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "mid_stream_error", "next_n": 1, "after_deltas": 1})
    with (
        pytest.raises(anthropic.APIStatusError, match="serviceUnavailableException"),
        bedrock.messages.stream(model=HAIKU, max_tokens=60, messages=HI) as stream,
    ):
        stream.get_final_message()


def test_an_unknown_model_id_is_a_validation_error(bedrock: anthropic.AnthropicBedrock) -> None:
    with pytest.raises(anthropic.BadRequestError, match="model identifier is invalid"):
        bedrock.messages.create(
            model="anthropic.claude-haiku-4-20250514-v1:0", max_tokens=10, messages=HI
        )


def test_anthropic_faults_can_spare_bedrock(
    bedrock: anthropic.AnthropicBedrock, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "529", "endpoint": "anthropic", "probability": 1.0})
    anthropic_api = anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:
        anthropic_api.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    assert caught.value.status_code == 529
    assert bedrock.messages.create(model=HAIKU, max_tokens=10, messages=HI).id
    by_endpoint = emu.stats()["by_endpoint"]
    assert by_endpoint["anthropic"] == {"requests": 1, "errors_529": 1}
    assert by_endpoint["bedrock"] == {"requests": 1, "served": 1}
