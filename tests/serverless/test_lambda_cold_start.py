"""What a Lambda handler module loads: only what it uses."""

from __future__ import annotations

import os

import pytest
from lambda_env import CANARY_KEY, python_modules_after

from claude_arch.testing import EmulatorServer

HEAVY = ("anthropic", "fastapi", "starlette", "claude_arch.emulator", "claude_arch.service.app")

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
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []
    assert "aiohttp" not in loaded
