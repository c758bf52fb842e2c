"""``model: "auto"`` in a function (issue #12: every variant routes through core's router): the
HTTP handler under the real Lambda runtime client, with ``CLAUDE_ARCH_ROUTING_POLICY`` set,
sends each request to the tier its prompt needs, as the service and the pipeline do."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from lambda_env import HTTP_HANDLER, LambdaFunction, body_of, event

from claude_arch.testing import EmulatorServer


@pytest.fixture(scope="module")
def routed_fn(
    emu: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LambdaFunction]:
    log = tmp_path_factory.mktemp("lambda") / "routed.log"
    with LambdaFunction(HTTP_HANDLER, emu.url, log, CLAUDE_ARCH_ROUTING_POLICY="default") as fn:
        yield fn


def ask(fn: LambdaFunction, body: dict[str, Any]) -> dict[str, Any]:
    ev: dict[str, Any] = copy.deepcopy(event("http_api_v2"))
    ev["body"] = json.dumps(body)
    ev["isBase64Encoded"] = False
    result = fn.invoke(ev)
    assert result.payload["statusCode"] == 200, result.payload
    answer: dict[str, Any] = body_of(result)
    return answer


def test_auto_sends_each_prompt_to_its_tier(routed_fn: LambdaFunction) -> None:
    greeting = ask(routed_fn, {"prompt": "Hi!", "model": "auto"})
    proof = ask(
        routed_fn,
        {"prompt": "Prove that the square root of 2 is irrational.", "model": "auto"},
    )
    assert greeting["model"] == "claude-haiku-5-5"
    assert greeting["route"]["tier"] == "fast"
    assert greeting["route"]["classifier"] == "rules"
    assert proof["model"] == "claude-opus-5-5"
    assert proof["route"]["tier"] == "deep"
    assert "proof" in proof["route"]["reason"]


def test_a_named_model_is_not_routed(routed_fn: LambdaFunction) -> None:
    answer = ask(routed_fn, {"prompt": "Hi!", "model": "claude-sonnet-4-6"})
    assert answer["model"] == "claude-sonnet-4-6"
    assert "route" not in answer
