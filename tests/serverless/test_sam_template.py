"""The SAM template of deploy/aws-lambda validates and wires the handlers that exist."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "aws-lambda" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (``!Ref``, ``!Sub``) as plain values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tag)


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    run = subprocess.run(
        [str(cfn_lint), str(TEMPLATE)], check=False, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_template_names_real_handlers_with_a_dlq_and_partial_failures() -> None:
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506
    resources = template["Resources"]
    for name in ("AskFunction", "JobsFunction"):
        module, func = resources[name]["Properties"]["Handler"].rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), func))
    jobs = resources["JobsFunction"]["Properties"]["Events"]["Jobs"]["Properties"]
    assert jobs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "deadLetterTargetArn" in resources["JobsQueue"]["Properties"]["RedrivePolicy"]
    assert resources["AskFunction"]["Properties"]["Timeout"] < 30  # API Gateway's limit


def load_template() -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506
    return template


def test_least_privilege_the_key_at_run_time_and_no_key_in_the_configuration() -> None:
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert "ANTHROPIC_API_KEY" not in variables  # not resolved into the configuration
    assert variables["CLAUDE_ARCH_API_KEY_SECRET"].startswith("aws-secretsmanager:")
    resources = template["Resources"]
    for name in ("AskFunction", "JobsFunction", "StreamFunction"):
        policies = resources[name]["Properties"]["Policies"]
        secret = [p for p in policies if "AWSSecretsManagerGetSecretValuePolicy" in p]
        assert len(secret) == 1  # the one secret, read only
        arn = secret[0]["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
        assert "${AnthropicKeySecretName}" in arn
        statements = [s for p in policies for s in p.get("Statement", [])]
        if name == "JobsFunction":  # visibility delays on its own queue, nothing else
            assert statements == [
                {
                    "Effect": "Allow",
                    "Action": ["sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"],
                    "Resource": "JobsQueue.Arn",
                }
            ]
        else:
            assert statements == []


def test_the_streaming_function_is_the_service_behind_the_web_adapter() -> None:
    resources = load_template()["Resources"]
    stream = resources["StreamFunction"]["Properties"]
    variables = stream["Environment"]["Variables"]
    assert stream["Handler"] == "run.sh"
    assert (TEMPLATE.parent / "run.sh").stat().st_mode & 0o111  # executable
    assert stream["FunctionUrlConfig"]["InvokeMode"] == "RESPONSE_STREAM"
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert stream["Layers"] == ["WebAdapterLayerArn"]
    assert (
        ":layer:LambdaAdapterLayer"
        in load_template()["Parameters"]["WebAdapterLayerArn"]["Default"]
    )
