"""The gateway's ``GET /v1/models`` pages like the API (and the emulator): an official SDK's
auto-pager walks every model once, in catalog order, and stops.

Both Python SDK lines (2.x in this process, 0.x in its cached venv) page through a live gateway
(keys required, upstream the emulator) forwards with ``limit=5`` and backwards with ``before_id``,
retrieve a model by alias, and get the same typed errors as from the emulator for a ``limit`` out of
range, an unknown cursor and both cursors at once. The OpenAPI document describes the parameters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from error_shape import assert_anthropic_error

from claude_arch.core.pricing.catalog import ModelInfo, default_catalog
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

import models_paging_check

IDS = [m.id for m in default_catalog() if not m.retired()]  # the Claude API's list, as of today
ALIAS = "claude-haiku-4-5-20251001"
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, str, str]]:
    """The emulator, and the gateway in front of it (its own thread: the SDKs block) with a key."""
    with (
        EmulatorServer(speed=0) as emu,
        ServiceServer.for_emulator(emu, tmp_path_factory.mktemp("svc")) as svc,
    ):
        yield emu, svc.url, svc.create_key_sync("models", rpm=10_000)


@pytest.fixture(scope="module")
def gateway_report(servers: tuple[EmulatorServer, str, str]) -> dict[str, object]:
    _emu, url, key = servers
    return models_paging_check.run({"url": url, "key": key, "alias": ALIAS})


def test_python_sdk_2x_pages_every_model_once_through_the_gateway(
    gateway_report: dict[str, object],
) -> None:
    assert str(gateway_report["sdk_version"]).startswith("2.")
    models_paging_check.check(gateway_report, IDS, "claude-haiku-4-5")


def test_the_gateway_and_the_emulator_list_the_same_models_in_the_same_order(
    servers: tuple[EmulatorServer, str, str], gateway_report: dict[str, object]
) -> None:
    emu, _url, _key = servers
    direct = models_paging_check.run({"url": emu.url, "key": emu.api_key, "alias": ALIAS})
    for part in ("forward", "forward_pages", "backward_pages", "retrieved", "errors"):
        assert gateway_report[part] == direct[part], part


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_python_sdk_0x_pages_every_model_once_through_the_gateway(
    sdk0_python: Path, servers: tuple[EmulatorServer, str, str]
) -> None:
    _emu, url, key = servers
    spec = json.dumps({"url": url, "key": key, "alias": ALIAS})
    done = subprocess.run(
        [str(sdk0_python), models_paging_check.__file__, spec],
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
def http(servers: tuple[EmulatorServer, str, str]) -> Iterator[httpx.Client]:
    _emu, url, key = servers
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=10) as client:
        yield client


BAD_PAGING = {  # query: status, error type, the parameter the message names
    "limit=0": (400, "invalid_request_error", "limit"),
    "limit=1001": (400, "invalid_request_error", "limit"),
    "limit=abc": (400, "invalid_request_error", "limit"),
    "after_id=nope": (404, "not_found_error", "after_id"),
    "before_id=nope": (404, "not_found_error", "before_id"),
    "after_id=a&before_id=b": (400, "invalid_request_error", "before_id"),
}


@pytest.mark.parametrize("query", BAD_PAGING)
def test_bad_paging_is_the_emulators_error(
    servers: tuple[EmulatorServer, str, str], http: httpx.Client, query: str
) -> None:
    status, error_type, field = BAD_PAGING[query]
    message = assert_anthropic_error(http.get(f"/v1/models?{query}"), status, error_type)
    assert message.startswith(f"{field}: ")
    emu = servers[0]
    direct = httpx.get(f"{emu.url}/v1/models?{query}", headers={"x-api-key": emu.api_key})
    assert direct.json()["error"] == {"type": error_type, "message": message}


def test_the_models_routes_need_a_service_key(servers: tuple[EmulatorServer, str, str]) -> None:
    _emu, url, _key = servers
    for path in ("/v1/models", "/v1/models/claude-haiku-4-5"):
        assert_anthropic_error(httpx.get(url + path), 401, "authentication_error")


def test_a_model_object_has_its_limits_and_capabilities(http: httpx.Client) -> None:
    haiku = http.get("/v1/models/claude-haiku-5-5").json()
    assert (haiku["max_input_tokens"], haiku["max_tokens"]) == (1_000_000, 128_000)
    assert haiku["capabilities"]["batch"] == {"supported": True}
    unknown = http.get("/v1/models/claude-haiku-4-20250514")
    assert assert_anthropic_error(unknown, 404, "not_found_error").startswith("model: ")


def test_the_openapi_document_describes_the_paging_parameters(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    listed = {p["name"]: p for p in spec["paths"]["/v1/models"]["get"]["parameters"]}
    assert set(listed) == {"limit", "after_id", "before_id"}
    assert listed["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 20,
    }
    assert all(p["in"] == "query" and not p["required"] for p in listed.values())
    one = spec["paths"]["/v1/models/{model_id}"]["get"]["parameters"]
    assert [p["name"] for p in one] == ["model_id"]


@pytest.mark.parametrize(
    "model", [m for m in default_catalog() if m.retires], ids=lambda m: str(m.id)
)
def test_on_the_claude_api_a_retired_model_is_not_listed_nor_found(
    http: httpx.Client, model: ModelInfo
) -> None:
    """With the Claude API upstream the gateway lists what it serves: a model past its
    retirement day (as of today) is left out and retrieving it is the API's 404 naming the day;
    one whose day is still to come is listed and found."""
    listed = [m["id"] for m in http.get("/v1/models", params={"limit": 1000}).json()["data"]]
    retrieved = http.get(f"/v1/models/{model.id}")
    if not model.retired():
        assert model.id in listed
        assert retrieved.json()["id"] == model.id
        return
    assert model.id not in listed
    message = assert_anthropic_error(retrieved, 404, "not_found_error")
    assert message.startswith(f"model: {model.id} was retired on {model.retires}")
