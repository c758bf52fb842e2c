"""Top-level request fields: the API's list (which matches the installed official SDK's request
bodies) is accepted, anything else is the API's 400 naming the first unknown field (Messages,
count_tokens, each batch request), unless the emulator is lenient; beta-only fields need their
``anthropic-beta``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_shapes import HAIKU, assert_error_shape, body, headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.validation.fields import (
    BETA_FIELDS,
    COUNT_TOKENS_BETA_FIELDS,
    COUNT_TOKENS_FIELDS,
    MESSAGES_FIELDS,
)
from claude_arch.emulator.config import EmulatorConfig
from claude_arch.emulator.routes.batches import BATCHES_KEY
from claude_arch.testing import EmulatorServer

anthropic = pytest.importorskip("anthropic")

HELLO: list[Any] = [{"role": "user", "content": "Hello"}]
EXTRA = "Extra inputs are not permitted"
# Every top-level field the API knows, beta ones included: "unknown" means none of these.
KNOWN = MESSAGES_FIELDS | COUNT_TOKENS_FIELDS | set(BETA_FIELDS)


def count_body(content: Any = "Hello", **extra: Any) -> dict[str, Any]:
    return {"model": HAIKU, "messages": [{"role": "user", "content": content}], **extra}


@pytest.fixture
def sdk(emu: EmulatorServer) -> Iterator[Any]:
    with anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def strict_and_lenient() -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with (
        EmulatorServer(rate_limit_tier="none") as strict,
        EmulatorServer(rate_limit_tier="none", lenient=True) as lenient,
        httpx.Client(base_url=strict.url, headers=headers(strict.api_key), timeout=10) as a,
        httpx.Client(base_url=lenient.url, headers=headers(lenient.api_key), timeout=10) as b,
    ):
        yield a, b


def test_the_lists_cover_the_installed_sdks_request_bodies() -> None:
    from anthropic.types import message_count_tokens_params, message_create_params
    from anthropic.types.beta import message_count_tokens_params as beta_count
    from anthropic.types.beta import message_create_params as beta_create

    def keys(params: Any) -> set[str]:  # header params travel as headers, not in the body
        names = set(params.__required_keys__ | params.__optional_keys__)
        return names - {"user_profile_id", "workspace_id", "betas"}

    create = keys(message_create_params.MessageCreateParamsBase) | {"stream"}
    assert create | {"temperature", "top_p", "top_k"} == MESSAGES_FIELDS
    assert keys(message_count_tokens_params.MessageCountTokensParams) == COUNT_TOKENS_FIELDS
    beta = keys(beta_create.MessageCreateParamsBase) - create
    assert beta | {"output_format"} == set(BETA_FIELDS)  # output_format: the older spelling
    counted_beta = keys(beta_count.MessageCountTokensParams) - COUNT_TOKENS_FIELDS
    assert counted_beta == COUNT_TOKENS_BETA_FIELDS


def test_an_unknown_field_is_a_typed_400_naming_it(sdk: Any) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(
            model=HAIKU, max_tokens=16, messages=HELLO, extra_body={"colour": "red"}
        )
    assert info.value.status_code == 400
    assert info.value.body["error"] == {
        "type": "invalid_request_error",
        "message": f"colour: {EXTRA}",
    }
    assert info.value.request_id.startswith("req_01")
    with pytest.raises(anthropic.BadRequestError) as counted:
        sdk.messages.count_tokens(model=HAIKU, messages=HELLO, extra_body={"colour": "red"})
    assert counted.value.body["error"]["message"] == f"colour: {EXTRA}"


def test_a_lenient_emulator_accepts_unknown_fields(sdk: Any) -> None:
    with (
        EmulatorServer(lenient=True) as lenient,
        anthropic.Anthropic(base_url=lenient.url, api_key=lenient.api_key, max_retries=0) as ok,
    ):
        future = {"colour": "red", "a_field_from_the_future": {"nested": [1]}}
        message = ok.messages.create(model=HAIKU, max_tokens=16, messages=HELLO, extra_body=future)
        counted = ok.messages.count_tokens(model=HAIKU, messages=HELLO, extra_body=future)
    assert message.type == "message"
    assert counted.input_tokens == message.usage.input_tokens
    with pytest.raises(anthropic.BadRequestError) as strict:  # the same request, not lenient
        sdk.messages.create(model=HAIKU, max_tokens=16, messages=HELLO, extra_body=future)
    assert strict.value.body["error"]["message"] == f"colour: {EXTRA}"


def test_every_listed_field_is_accepted_through_the_sdk(sdk: Any) -> None:
    message = sdk.messages.create(
        model=HAIKU,
        max_tokens=64,
        messages=HELLO,
        system="Be brief.",
        stop_sequences=["END"],
        metadata={"user_id": "u-1"},
        tools=[{"name": "noop", "input_schema": {"type": "object"}}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        service_tier="auto",
        cache_control={"type": "ephemeral"},
        container="container_011CZ",
        diagnostics={"previous_message_id": None},
        output_config={"effort": "low"},
        speed="standard",
        extra_body={"temperature": 0.5, "top_p": 0.9, "top_k": 40},
    )
    assert message.type == "message"
    counted = sdk.messages.count_tokens(
        model=HAIKU,
        messages=HELLO,
        system="Be brief.",
        tools=[{"name": "noop", "input_schema": {"type": "object"}}],
        tool_choice={"type": "auto"},
        thinking={"type": "disabled"},
        cache_control={"type": "ephemeral"},
        output_config={"effort": "low"},
        speed="standard",
    )
    assert counted.input_tokens > 0


def test_inference_geo_is_taken_from_opus_4_6_on_and_refused_before(sdk: Any) -> None:
    """The API takes ``inference_geo`` for Claude Opus 4.6 and later models (the answer says where
    the call ran) and answers 400 for older ones, a batch request's included."""
    ran = sdk.messages.create(
        model="claude-sonnet-5-5", max_tokens=16, messages=HELLO, inference_geo="us"
    )
    assert ran.usage.inference_geo == "us"
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(model=HAIKU, max_tokens=16, messages=HELLO, inference_geo="us")
    assert refused.value.body["error"]["type"] == "invalid_request_error"
    assert refused.value.body["error"]["message"].startswith("inference_geo: claude-haiku-4-5")
    with (
        pytest.raises(anthropic.BadRequestError),  # streamed too
        sdk.messages.stream(
            model=HAIKU, max_tokens=16, messages=HELLO, inference_geo="us"
        ) as stream,
    ):
        stream.get_final_message()
    batch = sdk.messages.batches.create(
        requests=[
            {
                "custom_id": "old",
                "params": {
                    "model": HAIKU,
                    "max_tokens": 8,
                    "messages": HELLO,
                    "inference_geo": "us",
                },
            },
            {
                "custom_id": "new",
                "params": {
                    "model": "claude-opus-4-6",
                    "max_tokens": 8,
                    "messages": HELLO,
                    "inference_geo": "us",
                },
            },
        ]
    )
    deadline = time.monotonic() + 10
    while sdk.messages.batches.retrieve(batch.id).processing_status != "ended":
        assert time.monotonic() < deadline, "the batch did not end"
        time.sleep(0.01)
    results = {r.custom_id: r.result for r in sdk.messages.batches.results(batch.id)}
    assert results["old"].type == "errored"
    assert results["new"].type == "succeeded"
    assert results["new"].message.usage.inference_geo == "us"


def test_beta_fields_need_their_beta_header(sdk: Any) -> None:
    edits = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(
            model=HAIKU, max_tokens=16, messages=HELLO, extra_body={"context_management": edits}
        )
    assert info.value.body["error"]["message"] == f"context_management: {EXTRA}"
    with pytest.raises(anthropic.BadRequestError) as wrong_beta:
        sdk.beta.messages.create(
            model=HAIKU,
            max_tokens=16,
            messages=HELLO,
            context_management=edits,
            betas=["files-api-2025-04-14"],
        )
    assert wrong_beta.value.body["error"]["message"] == f"context_management: {EXTRA}"
    message = sdk.beta.messages.create(
        model=HAIKU,
        max_tokens=16,
        messages=HELLO,
        context_management=edits,
        mcp_servers=[{"type": "url", "name": "docs", "url": "https://mcp.example.com/sse"}],
        betas=["context-management-2025-06-27", "mcp-client-2025-11-20"],
    )
    assert message.type == "message"
    counted = sdk.beta.messages.count_tokens(
        model=HAIKU,
        messages=HELLO,
        context_management=edits,
        betas=["context-management-2025-06-27"],
    )
    assert counted.input_tokens > 0


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/v1/messages/count_tokens", count_body(max_tokens=16), "max_tokens"),
        ("/v1/messages/count_tokens", count_body(stream=True), "stream"),
        ("/v1/messages/count_tokens", count_body(metadata={"user_id": "u"}), "metadata"),
        ("/v1/messages/count_tokens", count_body(fallbacks=["default"]), "fallbacks"),
        ("/v1/messages", body(extra_headers={"x": "y"}), "extra_headers"),
    ],
)
def test_fields_of_another_endpoint_or_beta_are_refused(
    client: httpx.Client, path: str, payload: dict[str, Any], field: str
) -> None:
    beta = {"anthropic-beta": "server-side-fallback-2026-07-01"}
    message = assert_error_shape(
        client.post(path, json=payload, headers=beta), 400, "invalid_request_error"
    )
    assert message == f"{field}: {EXTRA}"


def test_a_beta_field_passes_for_any_dated_version_of_its_beta(client: httpx.Client) -> None:
    for beta in ("server-side-fallback-2026-06-01", "other-beta, server-side-fallback-2027-01-01"):
        r = client.post(
            "/v1/messages", json=body(fallbacks=["default"]), headers={"anthropic-beta": beta}
        )
        assert r.status_code == 200, r.text
    for beta in ("", "fallback-credit-2026-07-01", "server-side-fallbacks"):
        r = client.post(
            "/v1/messages", json=body(fallbacks=["default"]), headers={"anthropic-beta": beta}
        )
        assert assert_error_shape(r, 400, "invalid_request_error") == f"fallbacks: {EXTRA}"


def test_a_known_fields_own_error_comes_before_an_unknown_field(client: httpx.Client) -> None:
    r = client.post("/v1/messages", json={"colour": "red", **body(max_tokens="5")})
    assert assert_error_shape(r, 400, "invalid_request_error").startswith("max_tokens: ")
    r = client.post("/v1/messages", json=body(model="claude-nope-9", colour="red"))
    assert assert_error_shape(r, 400, "invalid_request_error") == f"colour: {EXTRA}"


async def test_each_batch_request_is_checked_with_the_batchs_betas() -> None:
    requests = [
        {"custom_id": "plain", "params": body()},
        {"custom_id": "unknown", "params": body(colour="red")},
        {"custom_id": "beta", "params": body(mcp_servers=[])},
    ]
    outcomes: dict[str, dict[str, Any]] = {}
    for config, beta in (
        (EmulatorConfig(port=0, speed=0), None),
        (EmulatorConfig(port=0, speed=0), "mcp-client-2025-04-04"),
        (EmulatorConfig(port=0, speed=0, lenient=True), None),
    ):
        sent = headers() | ({"anthropic-beta": beta} if beta else {})
        async with (
            EmulatorServer(config) as emu,
            httpx.AsyncClient(base_url=emu.url, headers=sent) as http,
        ):
            created = await http.post("/v1/messages/batches", json={"requests": requests})
            assert created.status_code == 200, created.text
            batch = emu.app[BATCHES_KEY].get(created.json()["id"])
            assert batch is not None
            assert batch.task is not None
            await batch.task  # processed: the results are final
            lines = (await http.get(f"/v1/messages/batches/{batch.id}/results")).text
        results = {r["custom_id"]: r["result"] for r in map(json.loads, lines.splitlines())}
        outcomes[f"{config.lenient}-{beta}"] = {
            k: v["type"] if v["type"] == "succeeded" else v["error"]["error"]["message"]
            for k, v in results.items()
        }
    assert outcomes == {
        "False-None": {
            "plain": "succeeded",
            "unknown": f"colour: {EXTRA}",
            "beta": f"mcp_servers: {EXTRA}",
        },
        "False-mcp-client-2025-04-04": {
            "plain": "succeeded",
            "unknown": f"colour: {EXTRA}",
            "beta": "succeeded",
        },
        "True-None": {"plain": "succeeded", "unknown": "succeeded", "beta": "succeeded"},
    }


unknown_names = st.text(max_size=24).filter(lambda name: name not in KNOWN)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    unknown=st.lists(unknown_names, min_size=1, max_size=4, unique=True),
    positions=st.lists(st.integers(0, 8), min_size=4, max_size=4),
    count=st.booleans(),
)
def test_any_unknown_fields_are_a_400_naming_the_first_and_lenient_accepts_them(
    strict_and_lenient: tuple[httpx.Client, httpx.Client],
    unknown: list[str],
    positions: list[int],
    count: bool,
) -> None:
    strict, lenient = strict_and_lenient
    fields = list((count_body() if count else body()).items())
    for name, at in zip(unknown, positions, strict=False):
        fields.insert(min(at, len(fields)), (name, {"any": "value"}))
    first = next(name for name, _ in fields if name in unknown)
    raw = json.dumps(dict(fields))  # the order above is the order on the wire
    path = "/v1/messages/count_tokens" if count else "/v1/messages"
    plain = {"content-type": "application/json"}
    refused = strict.post(path, content=raw, headers=plain)
    assert assert_error_shape(refused, 400, "invalid_request_error") == f"{first}: {EXTRA}"
    accepted = lenient.post(path, content=raw, headers=plain)
    assert accepted.status_code == 200, accepted.text


def test_the_cli_flag_makes_a_lenient_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import claude_arch.emulator
    from claude_arch.cli import app

    served: list[EmulatorConfig] = []
    monkeypatch.setattr(claude_arch.emulator, "serve", served.append)
    for args in (["--lenient"], []):
        result = CliRunner().invoke(app, ["emulator", "--port", "0", "--speed", "0", *args])
        assert result.exit_code == 0, result.output
    lenient, strict = served
    assert (lenient.lenient, strict.lenient) == (True, False)
    for config, status in ((lenient, 200), (strict, 400)):
        with (
            EmulatorServer(config) as emu,
            httpx.Client(base_url=emu.url, headers=headers()) as http,
        ):
            assert http.post("/v1/messages", json=body(colour="red")).status_code == status
