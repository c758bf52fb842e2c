"""The HTTP handler under the real runtime client with its key read at run time from Secrets
Manager or SSM (moto's server), cached per environment, re-read when refused; and a client's
Idempotency-Key answered once."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_fakes import aws_env, client, moto_server
from lambda_env import CANARY_KEY, HTTP_HANDLER, LambdaFunction, body_of, event

from claude_arch.testing import EmulatorServer

STALE_KEY = "sk-ant-api03-STALE-rotated-away-0000000000"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_keys=[CANARY_KEY]) as server:
        yield server


def reads(fn: LambdaFunction) -> list[dict[str, object]]:
    return [r for r in fn.log_records() if r.get("message") == "api key read from the secret store"]


def test_the_key_from_secrets_manager_is_read_once_per_environment(
    emu: EmulatorServer, moto: str, tmp_path: Path
) -> None:
    name = f"claude-arch/key-{uuid.uuid4().hex[:6]}"
    client("secretsmanager", moto).create_secret(Name=name, SecretString=CANARY_KEY)
    env = {**aws_env(moto), "CLAUDE_ARCH_API_KEY_SECRET": f"aws-secretsmanager:{name}"}
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "f.log", api_key=None, **env) as fn:
        for _ in range(3):
            assert fn.invoke(event("http_api_v2")).payload["statusCode"] == 200
        assert [r["reads"] for r in reads(fn)] == [1]  # cached for the TTL (300 s)
        assert CANARY_KEY not in fn.log()


def test_a_json_secret_in_ssm_parameter_store(
    emu: EmulatorServer, moto: str, tmp_path: Path
) -> None:
    name = f"/claude-arch/{uuid.uuid4().hex[:6]}"
    client("ssm", moto).put_parameter(
        Name=name, Type="SecureString", Value=json.dumps({"anthropic": CANARY_KEY, "other": "x"})
    )
    env = {**aws_env(moto), "CLAUDE_ARCH_API_KEY_SECRET": f"aws-ssm:{name}#anthropic"}
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "f.log", api_key=None, **env) as fn:
        assert fn.invoke(event("http_api_v2")).payload["statusCode"] == 200
        assert CANARY_KEY not in fn.log()


def test_a_rotated_key_is_picked_up_when_the_old_one_is_refused(
    emu: EmulatorServer, moto: str, tmp_path: Path
) -> None:
    name = f"claude-arch/key-{uuid.uuid4().hex[:6]}"
    secrets = client("secretsmanager", moto)
    secrets.create_secret(Name=name, SecretString=STALE_KEY)
    env = {**aws_env(moto), "CLAUDE_ARCH_API_KEY_SECRET": f"aws-secretsmanager:{name}"}
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "f.log", api_key=None, **env) as fn:
        refused = fn.invoke(event("http_api_v2")).payload
        assert refused["statusCode"] == 502  # the function's credentials, not the caller's
        secrets.put_secret_value(SecretId=name, SecretString=CANARY_KEY)  # rotation
        assert fn.invoke(event("http_api_v2")).payload["statusCode"] == 200
        assert [(r["reads"], r["changed"]) for r in reads(fn)] == [(1, False), (2, True)]
        created = [r for r in fn.log_records() if r.get("message") == "claude client created"]
        assert len(created) == 2
        assert STALE_KEY not in fn.log()
        assert CANARY_KEY not in fn.log()


def test_a_secret_that_cannot_be_read_is_a_clean_error(
    emu: EmulatorServer, moto: str, tmp_path: Path
) -> None:
    env = {**aws_env(moto), "CLAUDE_ARCH_API_KEY_SECRET": "aws-secretsmanager:no-such-secret"}
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "f.log", api_key=None, **env) as fn:
        answer = fn.invoke(event("http_api_v2")).payload
        assert answer["statusCode"] == 503
        error = body_of_payload(answer)["error"]
        assert error["type"] == "api_error"
        assert "no-such-secret" not in error["message"]  # the log says which, not the caller
        logged = [
            r for r in fn.log_records() if r.get("message") == "api key secret could not be read"
        ]
        assert logged[0]["secret"] == "aws-secretsmanager:no-such-secret"
        assert emu.stats()["totals"].get("requests", 0) == 0


def body_of_payload(payload: dict[str, object]) -> dict[str, dict[str, str]]:
    body = payload["body"]
    assert isinstance(body, str)
    parsed: dict[str, dict[str, str]] = json.loads(body)
    return parsed


def test_an_idempotency_key_is_answered_once(emu: EmulatorServer, tmp_path: Path) -> None:
    env = {"CLAUDE_ARCH_FUNCTION_IDEMPOTENCY": f"sqlite:///{tmp_path / 'once.db'}"}
    ask = copy.deepcopy(event("http_api_v2"))
    ask["headers"]["idempotency-key"] = "order-1234"
    with LambdaFunction(HTTP_HANDLER, emu.url, tmp_path / "f.log", **env) as fn:
        first = fn.invoke(ask)
        again = fn.invoke(ask)
        assert first.payload["headers"]["idempotent-replayed"] == "false"
        assert again.payload["headers"]["idempotent-replayed"] == "true"
        assert body_of(again) == body_of(first)
        assert emu.stats()["totals"]["requests"] == 1
        other = copy.deepcopy(ask)
        other["body"] = json.dumps({"prompt": "something else"})
        reused = fn.invoke(other)
        assert reused.payload["statusCode"] == 422
        assert body_of(reused)["error"]["message"].startswith("idempotency_key:")
        # without the header, the same body is asked again
        plain = copy.deepcopy(event("http_api_v2"))
        assert fn.invoke(plain).payload["statusCode"] == 200
        assert emu.stats()["totals"]["requests"] == 2
