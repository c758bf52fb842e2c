"""What a Lambda handler module loads: only what it uses."""

from __future__ import annotations

import os

import pytest
from lambda_env import CANARY_KEY, python_modules_after

from claude_arch.testing import EmulatorServer

HEAVY = (
    "anthropic",
    "fastapi",
    "starlette",
    "claude_arch.emulator",
    "claude_arch.service.app",
    # only when a secret store, visibility delays or idempotency need them, never on a cold start
    "boto3",
    "botocore.session",  # (Powertools' user agent imports botocore's bare package: 1 ms)
    "sqlalchemy",
    "redis",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    # the core's blocking path: a plain request is checked by pydantic-core alone and the
    # settings are read without pydantic-settings (docs/serverless.md § Cold start)
    "pydantic",
    "pydantic_settings",
)

CALL = """
import importlib
handler = importlib.import_module("claude_arch.serverless.aws_lambda.{module}").handler
class Context:
    aws_request_id = "local"; function_name = "f"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    def get_remaining_time_in_millis(self): return 30000
handler({event}, Context())
"""


@pytest.mark.parametrize(
    ("module", "event"),
    [
        (
            "http_handler",
            '{"version": "2.0", "requestContext": {"http": {"method": "POST"}},'
            ' "body": "{\\"prompt\\": \\"hi\\"}"}',
        ),
        ("sqs_handler", '{"Records": [{"messageId": "1", "body": "{\\"prompt\\": \\"hi\\"}"}]}'),
    ],
)
def test_a_handler_and_its_first_call_load_no_sdk_web_framework_or_emulator(
    module: str, event: str
) -> None:
    with EmulatorServer(api_keys=[CANARY_KEY]) as emu:
        env = {**os.environ, "ANTHROPIC_API_KEY": CANARY_KEY, "ANTHROPIC_BASE_URL": emu.url}
        loaded = python_modules_after(CALL.format(module=module, event=event), env)
        assert emu.stats()["totals"]["requests"] == 1
    assert "claude_arch.core.sync_client" in loaded
    assert [m for m in loaded if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY))] == []
    assert "aiohttp" not in loaded
    # nor an event loop, but where Powertools' batch processor (the SQS handler's) imports one
    assert ("asyncio" in loaded) is (module == "sqs_handler")


@pytest.mark.parametrize(
    ("init_type", "preloaded"),
    [("on-demand", False), ("snap-start", True), ("provisioned-concurrency", True)],
)
def test_the_client_is_imported_at_init_only_when_no_request_waits_for_it(
    init_type: str, preloaded: bool
) -> None:
    env = {**os.environ, "AWS_LAMBDA_INITIALIZATION_TYPE": init_type}
    loaded = python_modules_after("import claude_arch.serverless.aws_lambda.http_handler", env)
    assert ("claude_arch.core.sync_client" in loaded) is preloaded
    assert "boto3" not in loaded  # no secret read into a snapshot
