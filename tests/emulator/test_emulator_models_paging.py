"""``GET /v1/models`` and the batches list page as the API does, through the official SDKs.

Both Python SDK lines (2.x in this process, 0.x in its cached venv) page the emulator's models
forwards to the end and backwards from the last one, each model once and in catalog order, and
get typed errors for a ``limit`` out of range, an unknown cursor and both cursors at once. The
batches list pages by the same rules (``claude_arch.core.wire.paging``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_shapes import assert_error_shape, headers

from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

import models_paging_check

IDS = [m.id for m in default_catalog()]
ALIAS = "claude-haiku-4-5-20251001"
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # every catalog model, whatever the date (retired models have tests of their own)
    with EmulatorServer(speed=0, api_keys=["sk-ant-paging"], serve_retired=True) as emu:
        yield emu


def spec(emu: EmulatorServer) -> dict[str, str]:
    return {"url": emu.url, "key": emu.api_key, "alias": ALIAS}


def test_the_catalog_spans_several_pages_of_five() -> None:
    assert len(IDS) > 2 * models_paging_check.PAGE
    assert len(IDS) % models_paging_check.PAGE  # a short last page too


def test_python_sdk_2x_pages_every_model_once(server: EmulatorServer) -> None:
    report = models_paging_check.run(spec(server))
    assert report["sdk_version"].startswith("2.")
    models_paging_check.check(report, IDS, "claude-haiku-4-5")
    retrieved = report["retrieved"]
    assert (retrieved["max_input_tokens"], retrieved["max_tokens"]) == (200_000, 64_000)
    assert retrieved["thinking"] is True
    assert retrieved["batch"] is True


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_python_sdk_0x_pages_every_model_once(sdk0_python: Path, server: EmulatorServer) -> None:
    done = subprocess.run(
        [str(sdk0_python), models_paging_check.__file__, json.dumps(spec(server))],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["sdk_version"].startswith("0.")
    models_paging_check.check(report, IDS, "claude-haiku-4-5")


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=headers(server.api_key), timeout=10) as client:
        yield client


BAD_PAGING = {  # query: status, error type, the parameter the message names
    "limit=0": (400, "invalid_request_error", "limit"),
    "limit=1001": (400, "invalid_request_error", "limit"),
    "limit=abc": (400, "invalid_request_error", "limit"),
    "limit=": (400, "invalid_request_error", "limit"),
    "after_id=nope": (404, "not_found_error", "after_id"),
    "before_id=nope": (404, "not_found_error", "before_id"),
    "after_id=a&before_id=b": (400, "invalid_request_error", "before_id"),
}


@pytest.mark.parametrize("query", BAD_PAGING)
@pytest.mark.parametrize("path", ["/v1/models", "/v1/messages/batches"])
def test_bad_paging_is_an_error_naming_the_parameter(
    http: httpx.Client, path: str, query: str
) -> None:
    status, error_type, field = BAD_PAGING[query]
    r = http.get(f"{path}?{query}")
    assert_error_shape(r, status, error_type)
    assert r.json()["error"]["message"].startswith(f"{field}: ")


def test_the_limit_bounds_are_inclusive(http: httpx.Client) -> None:
    assert [m["id"] for m in http.get("/v1/models?limit=1").json()["data"]] == IDS[:1]
    everything = http.get("/v1/models?limit=1000").json()
    assert [m["id"] for m in everything["data"]] == IDS
    assert everything["has_more"] is False
    assert (everything["first_id"], everything["last_id"]) == (IDS[0], IDS[-1])


def test_paging_past_the_last_model_is_an_empty_page(http: httpx.Client) -> None:
    empty = http.get("/v1/models", params={"after_id": IDS[-1]}).json()
    assert empty == {"data": [], "has_more": False, "first_id": None, "last_id": None}
    before_first = http.get("/v1/models", params={"before_id": IDS[0]}).json()
    assert before_first["data"] == []
    assert before_first["has_more"] is False


def test_model_objects_carry_limits_and_capabilities(http: httpx.Client) -> None:
    fable = http.get("/v1/models/claude-fable-5").json()
    assert (fable["max_input_tokens"], fable["max_tokens"]) == (1_000_000, 128_000)
    assert fable["capabilities"]["thinking"]["types"]["adaptive"] == {"supported": True}
    assert fable["line"] == "fable"
