"""A model past its retirement day (``retires`` in the catalog) is one the Claude API no longer
serves: through the official SDK, the emulator's Anthropic routes answer 404 ``not_found_error``
naming the model and the day (messages, streams, count_tokens, a batch request alone), its
``GET /v1/models`` list leaves it out and retrieving it is a 404. The day before it is served;
``serve_retired`` keeps serving it; the Bedrock and Vertex routes (their own schedules) serve it
whatever the day. Every catalog model with a retirement day is tried, each on a ``today`` set
relative to its own day, so no test expires.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from claude_arch.core.pricing.catalog import ModelInfo, default_catalog
from claude_arch.testing import EmulatorServer

anthropic = pytest.importorskip("anthropic")
# the SDK itself warns of a model it knows to be deprecated: expected here
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

CATALOG = default_catalog()
RETIRING = [m for m in CATALOG if m.retires is not None]
SERVED = "claude-haiku-4-5"
HELLO: list[Any] = [{"role": "user", "content": "Hello"}]
LONG_AFTER = timedelta(days=3650)


def retires(info: ModelInfo) -> date:
    assert info.retires is not None
    return info.retires


@pytest.fixture(params=RETIRING, ids=lambda m: m.id)
def model(request: pytest.FixtureRequest) -> ModelInfo:
    info: ModelInfo = request.param
    return info


def sdk_for(emu: EmulatorServer) -> Any:
    return anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0)


@pytest.fixture
def retired_sdk(model: ModelInfo) -> Iterator[Any]:
    """An SDK client on an emulator whose today is ``model``'s retirement day."""
    with (
        EmulatorServer(today=retires(model), batch_seconds_per_request=0) as emu,
        sdk_for(emu) as sdk,
    ):
        yield sdk


def test_some_catalog_model_has_a_retirement_day() -> None:
    assert RETIRING  # else every test below is parametrized over nothing


def assert_retired(error: Any, info: ModelInfo) -> None:
    """The 404 names the model and the day it was retired."""
    assert error.status_code == 404
    assert error.body["error"]["type"] == "not_found_error"
    message = error.body["error"]["message"]
    assert info.id in message
    assert f"retired on {retires(info).isoformat()}" in message


def test_messages_streams_and_count_tokens_are_not_found(
    retired_sdk: Any, model: ModelInfo
) -> None:
    for name in (model.id, *model.aliases):
        with pytest.raises(anthropic.NotFoundError) as created:
            retired_sdk.messages.create(model=name, max_tokens=16, messages=HELLO)
        assert_retired(created.value, model)
        with (
            pytest.raises(anthropic.NotFoundError) as streamed,
            retired_sdk.messages.stream(model=name, max_tokens=16, messages=HELLO) as stream,
        ):
            stream.get_final_message()
        assert_retired(streamed.value, model)
        with pytest.raises(anthropic.NotFoundError) as counted:
            retired_sdk.messages.count_tokens(model=name, messages=HELLO)
        assert_retired(counted.value, model)
    # a served model still answers on the same day
    assert retired_sdk.messages.create(model=SERVED, max_tokens=16, messages=HELLO).content


def test_the_list_leaves_it_out_and_retrieving_it_is_not_found(
    retired_sdk: Any, model: ModelInfo
) -> None:
    listed = [m.id for m in retired_sdk.models.list(limit=1000)]
    assert listed == [m.id for m in CATALOG if not m.retired(retires(model))]
    assert model.id not in listed
    assert SERVED in listed
    for name in (model.id, *model.aliases):
        with pytest.raises(anthropic.NotFoundError) as retrieved:
            retired_sdk.models.retrieve(name)
        assert_retired(retrieved.value, model)


def test_a_batch_request_for_it_errors_alone(retired_sdk: Any, model: ModelInfo) -> None:
    batch = retired_sdk.messages.batches.create(
        requests=[
            {
                "custom_id": "retired",
                "params": {"model": model.id, "max_tokens": 8, "messages": HELLO},
            },
            {
                "custom_id": "served",
                "params": {"model": SERVED, "max_tokens": 8, "messages": HELLO},
            },
        ]
    )
    while retired_sdk.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(0.005)  # the batch runs on the emulator's loop; the suite's timeout bounds it
    results = {r.custom_id: r.result for r in retired_sdk.messages.batches.results(batch.id)}
    assert results["retired"].type == "errored"
    error = results["retired"].error.error
    assert error.type == "not_found_error"
    assert model.id in error.message
    assert f"retired on {retires(model).isoformat()}" in error.message
    assert results["served"].type == "succeeded"


def test_the_day_before_its_retirement_it_is_served(model: ModelInfo) -> None:
    day_before = retires(model) - timedelta(days=1)
    with EmulatorServer(today=day_before) as emu, sdk_for(emu) as sdk:
        message = sdk.messages.create(model=model.id, max_tokens=16, messages=HELLO)
        counted = sdk.messages.count_tokens(model=model.id, messages=HELLO)
        listed = [m.id for m in sdk.models.list(limit=1000)]
        retrieved = sdk.models.retrieve(model.id)
    assert message.content
    assert counted.input_tokens == message.usage.input_tokens
    assert model.id in listed
    assert retrieved.id == model.id


def test_serve_retired_keeps_it_answering(model: ModelInfo) -> None:
    long_after = retires(model) + LONG_AFTER
    with EmulatorServer(today=long_after, serve_retired=True) as emu, sdk_for(emu) as sdk:
        message = sdk.messages.create(model=model.id, max_tokens=16, messages=HELLO)
        with sdk.messages.stream(model=model.id, max_tokens=16, messages=HELLO) as stream:
            final = stream.get_final_message()
        counted = sdk.messages.count_tokens(model=model.id, messages=HELLO)
        listed = [m.id for m in sdk.models.list(limit=1000)]
        retrieved = sdk.models.retrieve(model.id)
    assert message.content
    assert final.usage.output_tokens > 0
    assert counted.input_tokens == message.usage.input_tokens
    assert listed == [m.id for m in CATALOG]
    assert retrieved.id == model.id


def test_the_platform_routes_serve_it_whatever_the_day(model: ModelInfo) -> None:
    """Bedrock and Vertex retire models on their own schedules: not the Claude API's."""
    long_after = retires(model) + LONG_AFTER
    with EmulatorServer(today=long_after) as emu:
        assert model.vertex_id is not None
        with anthropic.AnthropicVertex(
            base_url=f"{emu.url}/v1",
            region="us-east5",
            project_id="my-project",
            access_token=emu.vertex_token,
            max_retries=0,
        ) as vertex:
            on_vertex = vertex.messages.create(model=model.vertex_id, max_tokens=16, messages=HELLO)
        assert model.bedrock_id is not None
        bedrock_path = {"invoke": "", "messages": "/anthropic"}[model.bedrock_api]
        bedrock_client = (
            anthropic.AnthropicBedrock
            if model.bedrock_api == "invoke"
            else anthropic.AnthropicBedrockMantle
        )
        with bedrock_client(
            base_url=emu.url + bedrock_path,
            aws_region="us-east-1",
            aws_access_key=emu.aws_access_key,
            aws_secret_key=emu.aws_secret_key,
            max_retries=0,
        ) as bedrock:
            on_bedrock = bedrock.messages.create(
                model=model.bedrock_id, max_tokens=16, messages=HELLO
            )
        with sdk_for(emu) as sdk, pytest.raises(anthropic.NotFoundError):
            sdk.messages.create(model=model.id, max_tokens=16, messages=HELLO)
    assert on_vertex.content
    assert on_bedrock.content
