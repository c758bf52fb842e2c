"""Our Bedrock and Vertex transports under ``ClaudeClient``, against the emulator: the same
checks the official SDK passes, plus what only our client does (count tokens on Bedrock, cost,
the error tree, no credential in an error)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from claude_arch import errors
from claude_arch.core.client import ClaudeClient
from claude_arch.core.platforms import (
    AwsCredentials,
    BedrockTransport,
    StaticAwsCredentials,
    VertexTransport,
)
from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.testing import EmulatorServer

HI = [{"role": "user", "content": "hi"}]
TOOLS = [{"name": "get_weather", "input_schema": {"type": "object"}}]


@pytest.fixture
async def emu() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer() as server:
        yield server


def _bedrock(emu: EmulatorServer, secret: str | None = None, **kw: Any) -> BedrockTransport:
    creds = AwsCredentials(emu.aws_access_key, secret or emu.aws_secret_key, "session-tok")
    return BedrockTransport(
        region="eu-west-1", base_url=emu.url, credentials=StaticAwsCredentials(creds), **kw
    )


def _vertex(emu: EmulatorServer, token: str | None = None) -> VertexTransport:
    return VertexTransport(
        project="proj",
        region="europe-west1",
        base_url=f"{emu.url}/v1",
        access_token=token or emu.vertex_token,
    )


def _client(transport: Any, **kw: Any) -> ClaudeClient:
    # The client's base URL and key are unused: the platform transport addresses the platform.
    return ClaudeClient(
        api_key="unused", base_url="http://anthropic.invalid", transport=transport, **kw
    )


@pytest.mark.parametrize("platform", ["bedrock", "vertex"])
async def test_create_stream_tools_and_count(emu: EmulatorServer, platform: str) -> None:
    transport = _bedrock(emu) if platform == "bedrock" else _vertex(emu)
    emu.script(user="weather", tool_use={"name": "get_weather", "input": {"city": "Oslo"}})
    async with _client(transport) as client:
        message = await client.create(model="claude-haiku-4-5", max_tokens=30, messages=HI)
        async with client.stream(model="claude-haiku-4-5", max_tokens=30, messages=HI) as s:
            streamed = await s.final_message()
        ask = [{"role": "user", "content": "weather?"}]
        async with client.stream(
            model="claude-haiku-4-5", max_tokens=100, messages=ask, tools=TOOLS
        ) as s:
            tool_call = await s.final_message()
        counted = await client.count_tokens(model="claude-haiku-4-5", messages=HI)
    prefix = {"bedrock": "msg_bdrk_", "vertex": "msg_vrtx_"}[platform]
    assert message.id.startswith(prefix)
    assert streamed.id.startswith(prefix)
    assert streamed.usage.output_tokens == 30
    assert streamed.content[0]["text"]
    assert message.record is not None
    assert message.record.cost_usd > 0
    assert tool_call.stop_reason == "tool_use"
    assert tool_call.content[-1]["input"] == {"city": "Oslo"}
    assert counted == message.usage.input_tokens
    served = emu.stats()["by_endpoint"]
    assert served[platform] == {"requests": 4, "served": 3, "count_tokens": 1}
    assert "anthropic" not in served


async def test_bedrock_gets_its_wire_format() -> None:
    async with EmulatorServer(keep_requests=5) as emu:
        async with _client(_bedrock(emu, inference_profile="eu")) as client:
            await client.create(model="claude-sonnet-4-5", max_tokens=10, messages=HI)
        (seen,) = emu.received()
    assert seen["path"] == "/model/eu.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
    assert "authorization" not in seen["headers"]
    assert "x-api-key" not in seen["headers"]
    assert "anthropic-version" not in seen["headers"]


async def test_a_wrong_secret_is_a_permission_error_without_credentials(
    emu: EmulatorServer,
) -> None:
    async with _client(_bedrock(emu, secret="wrong-secret"), max_retries=0) as client:
        with pytest.raises(errors.PermissionDeniedError) as caught:
            await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    text = str(caught.value) + repr(caught.value.body) + repr(caught.value.headers)
    assert "InvalidSignatureException" in text
    for secret in ("wrong-secret", "session-tok", emu.aws_secret_key):
        assert secret not in text  # AWS quotes the canonical request: it holds the token


@pytest.mark.parametrize(
    ("platform", "kind"), [("bedrock", "throttling"), ("vertex", "resource_exhausted")]
)
async def test_platform_quota_errors_are_rate_limit_errors_and_retried(
    emu: EmulatorServer, platform: str, kind: str
) -> None:
    emu.set_faults({"kind": kind, "next_n": 1})
    transport = _bedrock(emu) if platform == "bedrock" else _vertex(emu)
    async with _client(transport, max_retries=0) as client:
        with pytest.raises(errors.RateLimitError):
            await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    emu.set_faults({"kind": kind, "next_n": 1})
    async with _client(transport if platform == "vertex" else _bedrock(emu)) as client:
        message = await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    assert message.record is not None
    assert message.record.attempts == 2


async def test_bedrock_overload_is_an_overloaded_error(emu: EmulatorServer) -> None:
    emu.set_faults({"kind": "service_unavailable", "probability": 1.0})
    async with _client(_bedrock(emu), max_retries=0) as client:
        with pytest.raises(errors.OverloadedError, match="ServiceUnavailableException"):
            await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)


async def test_bedrock_mid_stream_failure_is_typed(emu: EmulatorServer) -> None:
    emu.set_faults({"kind": "mid_stream_error", "next_n": 1, "after_deltas": 1})
    async with _client(_bedrock(emu), max_retries=0) as client:
        with pytest.raises(errors.OverloadedError):
            async with client.stream(model="claude-haiku-4-5", max_tokens=60, messages=HI) as s:
                await s.final_message()


async def test_vertex_wrong_token_is_an_authentication_error(emu: EmulatorServer) -> None:
    async with _client(_vertex(emu, token="ya29.wrong"), max_retries=0) as client:
        with pytest.raises(errors.AuthenticationError, match="UNAUTHENTICATED") as caught:
            await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    assert "ya29.wrong" not in str(caught.value)


def _catalog_without_platform_ids(model: str) -> Catalog:
    """The packaged catalog with ``model`` published on neither platform."""
    base = default_catalog()
    models = [
        replace(m, bedrock_id=None, vertex_id=None, bedrock_api="invoke") if m.id == model else m
        for m in base
    ]
    return Catalog(
        models,
        base.batch_discount,
        base.tiers,
        base.cache_multipliers,
        endpoint_factors=base.endpoint_factors,
    )


@pytest.mark.parametrize(
    ("platform", "name"), [("bedrock", "Amazon Bedrock"), ("vertex", "Google Vertex AI")]
)
async def test_a_model_the_platform_does_not_serve_is_refused_before_sending(
    emu: EmulatorServer, platform: str, name: str
) -> None:
    catalog = _catalog_without_platform_ids("claude-opus-5")
    if platform == "bedrock":
        transport: Any = _bedrock(emu, catalog=catalog)
    else:
        transport = VertexTransport(
            project="proj",
            region="global",
            base_url=f"{emu.url}/v1",
            access_token=emu.vertex_token,
            catalog=catalog,
        )
    async with _client(transport, max_retries=0, catalog=catalog) as client:
        with pytest.raises(errors.APIStatusError, match=f"no {name} ID") as caught:
            await client.create(model="claude-opus-5", max_tokens=10, messages=HI)
    assert caught.value.status == 404
    # the models it does name there, so the fix is one edit away
    assert "claude-haiku-4-5" in str(caught.value)
    assert "claude-opus-5-5" in str(caught.value)
    assert emu.stats()["by_endpoint"] == {}  # refused before anything was sent


def test_bad_settings_fail_at_construction_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "CLOUD_ML_REGION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(errors.ConfigError, match="AWS_REGION"):
        BedrockTransport()
    with pytest.raises(errors.ConfigError, match="not a region name"):
        BedrockTransport(region="mars-1")
    with pytest.raises(errors.ConfigError, match="CLOUD_ML_REGION"):
        VertexTransport(project="p")
    with pytest.raises(errors.ConfigError, match="inference profile"):
        BedrockTransport(region="us-east-1", inference_profile="moon")


async def test_missing_aws_credentials_say_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    with pytest.raises(errors.ConfigError, match="AWS_ACCESS_KEY_ID"):
        await BedrockTransport(region="us-east-1").check()


async def test_the_lambda_role_in_the_environment_signs(
    emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", emu.aws_access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", emu.aws_secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "lambda-session-token")
    async with _client(BedrockTransport(region="us-west-2", base_url=emu.url)) as client:
        message = await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    assert message.id.startswith("msg_bdrk_")


def test_importing_the_platforms_loads_no_cloud_library() -> None:
    # what the imports add (a namespace package's .pth may make ``google`` at start-up)
    code = (
        "import sys; before = set(sys.modules); "
        "import claude_arch.core.platforms, claude_arch.core.client; "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('botocore', 'boto3', 'google', 'aiohttp')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("values", "fallbacks", "where"),
    [
        ({"upstream": "bedrock", "default_model": "claude-opus-5"}, {}, "Amazon Bedrock"),
        ({}, {"claude-opus-5-5": ["vertex:claude-opus-5"]}, "Google Vertex AI"),
        ({"upstream": "vertex"}, {"claude-opus-5": ["claude-opus-5-5"]}, "Google Vertex AI"),
    ],
)
def test_a_model_without_an_id_on_its_platform_stops_the_start(
    values: dict[str, str], fallbacks: dict[str, list[str]], where: str
) -> None:
    """Known at start-up (the default model, the fallback chains): the transport is not built."""
    from claude_arch.core.platforms.providers import upstream_transport
    from claude_arch.core.transports.aiohttp_transport import AiohttpTransport
    from claude_arch.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bedrock_region="us-east-1",
        vertex_project="p",
        vertex_region="global",
        vertex_access_token="t",
        **values,
    )
    catalog = _catalog_without_platform_ids("claude-opus-5")
    with pytest.raises(errors.ConfigError, match=f"no {where} ID") as caught:
        upstream_transport(settings, fallbacks, AiohttpTransport(), catalog=catalog)
    assert "CLAUDE_ARCH_DEFAULT_MODEL" in str(caught.value)
    assert "claude-opus-5-5" in str(caught.value)  # a model it does name there
    # with every model published there, the same settings build
    built = upstream_transport(settings, fallbacks, AiohttpTransport())
    assert built.__class__.__name__ == "ProviderTransport"


async def test_no_credential_reaches_a_log(
    emu: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Retried failures and their typed errors are logged; the keys, the session token and the
    bearer token never are (AWS quotes the canonical request, with the token, in a mismatch)."""
    caplog.set_level("DEBUG")
    emu.set_faults({"kind": "throttling", "next_n": 1})
    async with _client(_bedrock(emu), max_retries=1) as client:
        await client.create(model="claude-opus-5-5", max_tokens=10, messages=HI)
    for transport in (_bedrock(emu, secret="wrong-secret"), _vertex(emu, token="ya29.wrong")):
        async with _client(transport, max_retries=1) as client:
            with pytest.raises(errors.APIStatusError):
                await client.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert "ThrottlingException" in logged or "rate_limit" in logged
    for secret in ("wrong-secret", "session-tok", emu.aws_secret_key, "ya29.wrong"):
        assert secret not in logged
