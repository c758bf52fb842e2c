"""The official SDK's ``AnthropicVertex``, unchanged, against the emulator's Vertex AI API."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from claude_arch.testing import EmulatorServer

HAIKU = "claude-haiku-4-5@20251001"
SONNET = "claude-sonnet-4-6"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(vertex_projects=["my-project"]) as server:
        yield server


def _client(
    emu: EmulatorServer, token: str, project: str = "my-project"
) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(
        base_url=f"{emu.url}/v1",
        region="us-east5",
        project_id=project,
        access_token=token,
        max_retries=0,
    )


@pytest.fixture
def vertex(emu: EmulatorServer) -> Iterator[anthropic.AnthropicVertex]:
    emu.set_faults()
    emu.clear_rules()
    emu.reset()
    with _client(emu, emu.vertex_token) as client:
        yield client


def test_create_and_count(vertex: anthropic.AnthropicVertex, emu: EmulatorServer) -> None:
    message = vertex.messages.create(model=HAIKU, max_tokens=30, messages=HI)
    assert message.id.startswith("msg_vrtx_")
    assert message.model == "claude-haiku-4-5"
    counted = vertex.messages.count_tokens(model=HAIKU, messages=HI)
    assert counted.input_tokens == message.usage.input_tokens
    assert emu.stats()["by_endpoint"] == {"vertex": {"requests": 2, "served": 1, "count_tokens": 1}}


def test_stream_to_the_final_message(vertex: anthropic.AnthropicVertex) -> None:
    with vertex.messages.stream(model=SONNET, max_tokens=40, messages=HI) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == final.content[0].text != ""
    assert final.usage.output_tokens == 40


def test_tools(vertex: anthropic.AnthropicVertex, emu: EmulatorServer) -> None:
    emu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Lima"}})
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    ask = [{"role": "user", "content": "weather in Lima?"}]
    message = vertex.messages.create(model=HAIKU, max_tokens=100, messages=ask, tools=tools)
    call = next(block for block in message.content if block.type == "tool_use")
    assert (call.name, call.input) == ("get_weather", {"city": "Lima"})


def test_a_wrong_token_is_a_401_and_another_project_a_403(emu: EmulatorServer) -> None:
    with (
        _client(emu, "ya29.wrong") as wrong,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        wrong.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert caught.value.body["error"]["status"] == "UNAUTHENTICATED"
    with (
        _client(emu, emu.vertex_token, "other") as elsewhere,
        pytest.raises(anthropic.PermissionDeniedError) as denied,
    ):
        elsewhere.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert denied.value.body["error"]["status"] == "PERMISSION_DENIED"


def test_quota_is_a_rate_limit_error(
    vertex: anthropic.AnthropicVertex, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "resource_exhausted", "next_n": 1})
    with pytest.raises(anthropic.RateLimitError) as caught:
        vertex.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert caught.value.body["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_an_unknown_model_is_vertexs_404(vertex: anthropic.AnthropicVertex) -> None:
    with pytest.raises(anthropic.NotFoundError, match="Publisher Model"):
        vertex.messages.create(model="claude-haiku-4@20250514", max_tokens=10, messages=HI)


def test_the_models_own_errors_pass_through_in_the_anthropic_shape(
    vertex: anthropic.AnthropicVertex, emu: EmulatorServer
) -> None:
    emu.set_faults({"kind": "529", "next_n": 1})
    with pytest.raises(anthropic.APIStatusError) as caught:
        vertex.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"
