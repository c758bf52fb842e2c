"""``model: "auto"`` through the service with ``CLAUDE_ARCH_ROUTING_POLICY`` set: each request goes
to the cheapest tier its rules choose, the answer says which (``x-claude-arch-route``), and a model
that keeps failing with 529 sends its traffic down its tier's chain and gets it back once its
breaker closes. Driven with the official SDK 2.x against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from log_capture import json_logs

from claude_arch.core.routing import LocalBreaker
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer, ManualClock


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[EmulatorServer, ServiceServer]]:
    with (
        EmulatorServer() as emu,
        ServiceServer.for_emulator(
            emu, tmp_path, dev=True, routing_policy="default", max_retries=0
        ) as svc,
    ):
        yield emu, svc


def ask(svc: ServiceServer, text: str) -> tuple[str, dict[str, str]]:
    client = anthropic.Anthropic(base_url=svc.url, api_key="dev", max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="auto", max_tokens=64, messages=[{"role": "user", "content": text}]
    )
    return raw.parse().model, dict(raw.headers)


@pytest.mark.sdk
def test_each_request_goes_to_the_tier_its_rules_choose(
    servers: tuple[EmulatorServer, ServiceServer],
) -> None:
    _, svc = servers
    model, headers = ask(svc, "Hi!")
    assert model == "claude-haiku-5-5"
    assert headers["x-claude-arch-route"].startswith("fast; model=claude-haiku-5-5")
    model, headers = ask(svc, "Prove rigorously that there are infinitely many primes.")
    assert model == "claude-opus-5-5"
    assert headers["x-claude-arch-route"].startswith("deep;")
    assert "proof" in headers["x-claude-arch-route-reason"]


@pytest.mark.sdk
def test_a_529_storm_moves_traffic_down_the_chain_and_back(
    servers: tuple[EmulatorServer, ServiceServer],
) -> None:
    emu, svc = servers
    router = svc.gateway.client.router
    assert router is not None
    clock = ManualClock()
    router.breaker = LocalBreaker(failures=2, window_s=60, cooldown_s=30, clock=clock)
    svc.gateway.client.core.cooldowns.seconds = 0  # the router's breaker alone decides
    emu.set_faults({"kind": "529", "model": "claude-haiku-5-5", "every": 1})
    answered = [ask(svc, "Hi!")[0] for _ in range(4)]
    # every call is served by the tier's next model; after two failures the breaker opens and
    # haiku-5-5 is not even tried
    assert answered == ["claude-haiku-4-5"] * 4
    assert router.breaker.state("claude-haiku-5-5") == "open"
    refused = emu.stats()["by_model"]["claude-haiku-5-5"]["fault_529"]
    emu.set_faults()  # the storm ends
    clock.advance(31)  # the breaker lets a probe through: it succeeds and closes it
    assert ask(svc, "Hi!")[0] == "claude-haiku-5-5"
    assert router.breaker.state("claude-haiku-5-5") == "closed"
    assert refused == 2  # then the open breaker kept calls away from it


def test_chat_turns_without_a_model_are_routed_each_turn(
    servers: tuple[EmulatorServer, ServiceServer],
) -> None:
    """A chat session with no model of its own routes every turn: a greeting to the fast tier,
    then a proof in the same session to the deep one."""
    _, svc = servers
    with httpx.Client(base_url=svc.url, timeout=30) as http:
        first = done_of(http.post("/v1/chat", json={"text": "Hi!"}))
        second = done_of(
            http.post(
                "/v1/chat",
                json={"text": "Prove that 17 is prime.", "session_id": first["session_id"]},
            )
        )
    assert first["model"] == "claude-haiku-5-5"
    assert second["model"] == "claude-opus-5-5"
    assert second["session_id"] == first["session_id"]


def done_of(response: httpx.Response) -> dict[str, Any]:
    """The ``done`` event of a /v1/chat SSE answer."""
    assert response.status_code == 200, response.text
    events = response.text.split("\n\n")
    done = next(e for e in events if e.startswith("event: done"))
    data: dict[str, Any] = json.loads(done.split("data: ", 1)[1])
    return data


def test_an_edited_policy_file_is_followed_and_a_broken_edit_ignored(tmp_path: Path) -> None:
    """With CLAUDE_ARCH_ROUTING_POLICY naming a file, an edit applies from the next request; an
    edit that does not load keeps the last good policy (and says why in the log)."""
    policy = tmp_path / "routing.yaml"
    fast_first = shipped_policy_text()
    policy.write_text(fast_first)
    with (
        EmulatorServer() as emu,
        ServiceServer.for_emulator(
            emu, tmp_path / "svc", dev=True, routing_policy=str(policy), max_retries=0
        ) as svc,
    ):
        assert ask(svc, "Hi!")[0] == "claude-haiku-5-5"
        swapped = fast_first.replace(
            "models: [claude-haiku-5-5, claude-haiku-4-5]",
            "models: [claude-haiku-4-5, claude-haiku-5-5]",
        )
        assert swapped != fast_first
        write_anew(policy, swapped)
        assert ask(svc, "Hi!")[0] == "claude-haiku-4-5"
        write_anew(policy, swapped.replace("tier: deep", "tier: no-such-tier"))
        with json_logs() as logs:
            assert ask(svc, "Hi!")[0] == "claude-haiku-4-5"  # the last good policy
        assert any("not reloaded" in line["msg"] for line in logs.lines())


def shipped_policy_text() -> str:
    from importlib import resources

    return (
        resources.files("claude_arch.core.routing")
        .joinpath("policies", "default.yaml")
        .read_text("utf-8")
    )


def write_anew(path: Path, text: str) -> None:
    """Replace the file whole with ``text`` plus a comment that makes its size differ from the
    old one's: the watcher compares size and mtime, and two writes can share a clock tick."""
    old_size = len(path.read_bytes())
    padding = "#" if len(text.encode()) + 2 != old_size else "##"
    staged = path.with_suffix(".new")
    staged.write_text(f"{text}\n{padding}\n")
    staged.replace(path)
