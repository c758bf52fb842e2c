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
    for fn in ("AskFunction", "JobsFunction"):
        assert "Policies" not in resources[fn]["Properties"]  # nothing beyond what SAM derives
