"""Fault injection over real HTTP: every kind, per model, schedules, seeded coins, control."""

from __future__ import annotations

import httpx
import pytest
from api_shapes import HAIKU, assert_error_shape, body, headers, sse_events

from claude_arch.testing import EmulatorServer

OPUS = "claude-opus-4-6"


@pytest.mark.parametrize(
    ("kind", "status", "etype"),
    [
        ("429", 429, "rate_limit_error"),
        ("529", 529, "overloaded_error"),
        ("500", 500, "api_error"),
        ("504", 504, "timeout_error"),
    ],
)
def test_error_faults_hit_only_their_model_and_only_next_n(
    emu: EmulatorServer, client: httpx.Client, kind: str, status: int, etype: str
) -> None:
    emu.set_faults({"kind": kind, "model": OPUS, "next_n": 1, "seconds": 3})
    assert client.post("/v1/messages", json=body()).status_code == 200  # haiku: untouched
    r = client.post("/v1/messages", json={**body(), "model": OPUS})
    assert_error_shape(r, status, etype)
    if status in (429, 529):
        assert r.headers["retry-after"] == "3"
    if status == 429:
        assert "anthropic-ratelimit-requests-remaining" in r.headers
    assert client.post("/v1/messages", json={**body(), "model": OPUS}).status_code == 200
    assert emu.stats()["by_model"][OPUS][f"fault_{kind}"] == 1


def test_spend_limit_is_a_429_whose_details_say_never_retry(
    emu: EmulatorServer, client: httpx.Client
) -> None:
    emu.set_faults({"kind": "spend_limit", "model": OPUS, "next_n": 1})
    r = client.post("/v1/messages", json={**body(), "model": OPUS})
    assert_error_shape(r, 429, "rate_limit_error")
    assert r.json()["error"]["details"] == {"error_code": "enforced_spend_limit_reached"}
    assert "retry-after" not in r.headers
    assert emu.stats()["by_model"][OPUS]["fault_spend_limit"] == 1


def test_every_kth_and_alias_match(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.set_faults({"kind": "529", "model": "claude-haiku-4-5-20251001", "every": 3})
    codes = [client.post("/v1/messages", json=body()).status_code for _ in range(6)]
    assert codes == [200, 200, 529, 200, 200, 529]


def test_probability_is_seeded_and_close_to_the_rate(emu: EmulatorServer) -> None:
    def run() -> list[int]:
        emu.set_faults({"kind": "500", "probability": 0.3}, seed=42)
        with httpx.Client(base_url=emu.url, headers=headers()) as http:
            return [http.post("/v1/messages", json=body()).status_code for _ in range(200)]

    first, second = run(), run()
    assert first == second
    assert 40 <= first.count(500) <= 80


def test_reset_drops_the_connection(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.set_faults({"kind": "reset", "next_n": 1})
    with pytest.raises(httpx.TransportError):
        client.post("/v1/messages", json=body())
    assert client.post("/v1/messages", json=body()).status_code == 200


def test_slow_first_byte_combines_with_an_outcome(
    emu: EmulatorServer, client: httpx.Client
) -> None:
    emu.set_faults(
        {"kind": "slow_first_byte", "next_n": 1, "seconds": 0.3},
        {"kind": "529", "next_n": 1},
    )
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/messages", json=body(), timeout=0.1)
    emu.set_faults({"kind": "slow_first_byte", "next_n": 1, "seconds": 0.05})
    assert client.post("/v1/messages", json=body(), timeout=5).status_code == 200


def test_mid_stream_error_event(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.set_faults({"kind": "mid_stream_error", "next_n": 1, "after_deltas": 2})
    assert client.post("/v1/messages", json=body()).status_code == 200  # streams only
    r = client.post("/v1/messages", json=body(stream=True))
    events = sse_events(r.text)
    names = [n for n, _ in events]
    assert names.count("content_block_delta") == 2
    assert names[-1] == "error"
    assert events[-1][1]["error"]["type"] == "overloaded_error"
    assert "message_stop" not in names


def test_stream_cut_ends_without_message_stop(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.set_faults({"kind": "stream_cut", "model": HAIKU, "next_n": 1, "after_deltas": 1})
    names = [n for n, _ in sse_events(client.post("/v1/messages", json=body(stream=True)).text)]
    assert names[-1] == "content_block_delta"
    assert "message_stop" not in names
    totals = emu.stats()["totals"]
    assert totals["fault_stream_cut"] == 1
    assert totals["streams_failed"] == 1


def test_control_endpoint_sets_and_reads_faults(emu: EmulatorServer, client: httpx.Client) -> None:
    r = client.put("/_emulator/faults", json={"faults": [{"kind": "529", "next_n": 1}]})
    assert r.status_code == 200
    assert client.get("/_emulator/faults").json()["faults"][0]["kind"] == "529"
    assert client.post("/v1/messages", json=body()).status_code == 529
    bad = client.put("/_emulator/faults", json={"faults": [{"kind": "418"}]})
    assert "kind" in assert_error_shape(bad, 400, "invalid_request_error")
