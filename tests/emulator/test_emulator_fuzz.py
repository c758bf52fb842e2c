"""Property: any JSON body gets a 2xx or a 4xx in the error shape, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_arch.core.validation.schema import BLOCK_TYPES
from claude_arch.testing import EmulatorServer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
blocks = st.fixed_dictionaries(
    {"type": st.sampled_from([*BLOCK_TYPES, "nope"])},
    optional={
        "text": json_values,
        "source": json_values,
        "input": json_values,
        "cache_control": json_values,
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "robot"]),
            "content": st.text(max_size=20) | st.lists(blocks, max_size=2) | json_values,
        }
    ),
    max_size=3,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["claude-haiku-4-5", "claude-opus-4-6", "gpt"]) | json_values,
        "max_tokens": st.integers(-2, 70_000) | json_values,
        "messages": messages | json_values,
        "system": st.text(max_size=10) | json_values,
        "tools": json_values,
        "tool_choice": json_values,
        "thinking": json_values,
        "stop_sequences": st.lists(st.text(max_size=3), max_size=2) | json_values,
        "stream": st.booleans() | json_values,
        "cache_control": json_values,
    },
)


@pytest.fixture(scope="module", params=["none", "tier1"])
def http(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    with (
        EmulatorServer(rate_limit_tier=request.param) as emu,
        httpx.Client(
            base_url=emu.url,
            headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
            timeout=10,
        ) as client,
    ):
        yield client


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.one_of(requests, json_values), path=st.sampled_from(["", "/count_tokens"]))
def test_any_json_gets_2xx_or_a_4xx_error_shape(
    http: httpx.Client, payload: Any, path: str
) -> None:
    r = http.post("/v1/messages" + path, content=json.dumps(payload))
    assert r.status_code < 500, r.text
    assert r.headers["request-id"].startswith("req_01")
    if r.status_code >= 400:
        error = r.json()
        assert error["type"] == "error"
        assert error["error"]["type"] in (
            "invalid_request_error",
            "not_found_error",
            "rate_limit_error",
        )
        assert error["error"]["message"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=64))
def test_arbitrary_bytes_are_400_not_500(http: httpx.Client, raw: bytes) -> None:
    r = http.post("/v1/messages", content=raw)
    assert r.status_code in (200, 400, 404, 429), r.text
