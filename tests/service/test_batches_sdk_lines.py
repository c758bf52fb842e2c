"""Message Batches through the gateway with both official Python SDK lines, each driving
``batch_sdk_check.py``: the 0.x line in its cached venv (a subprocess; its beta calls add
``?beta=true``) and the 2.x line in this process. Each creates, polls, reads, lists and deletes a
batch on the plain and the beta paths, sees another key refused with 404s, and cancels a batch
that is still running; the key is charged exactly what the results cost at the batch price.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from batch_support import MODEL, UpstreamSeen, batch_upstream, key_of, settled, usages_cost

from claude_arch.core.wire import BATCHES_PATH
from claude_arch.service.testing import ServiceServer

HERE = Path(__file__).resolve().parent
COUNT = 20
RUN_TIMEOUT_S = 180


@dataclass
class Services:
    main: ServiceServer
    seen: UpstreamSeen
    canceling: ServiceServer
    spec: dict[str, Any]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    """The service on an upstream that answers batches at once, and another on an upstream that
    answers one request of a batch, then waits an hour (a batch there is still running)."""
    async with (
        batch_upstream() as (emu, seen),
        batch_upstream(batch_seconds_per_request=3600) as (slow, _),
        ServiceServer.for_emulator(emu, tmp_path / "main") as main,
        ServiceServer.for_emulator(slow, tmp_path / "cancel") as canceling,
    ):
        spec = {
            "url": main.url,
            "key": await main.create_key("owner"),
            "other_key": await main.create_key("other"),
            "cancel_url": canceling.url,
            "cancel_key": await canceling.create_key("owner"),
            "model": MODEL,
            "count": COUNT,
        }
        yield Services(main, seen, canceling, spec)


async def check_report(report: dict[str, Any], services: Services, major: str) -> None:
    assert report["sdk_version"].startswith(f"{major}.")
    main, spec = services.main, services.spec
    key = await key_of(main, spec["key"])
    expected_spend = 0
    for path in ("plain", "beta"):
        run = report[path]
        prefix = "p" if path == "plain" else "b"
        assert run["created_status"] == "in_progress"
        assert run["succeeded"] == COUNT
        assert run["results_url"] == f"{main.url}{BATCHES_PATH}/{run['id']}/results"
        assert run["results"] == sorted(f"{prefix}{i}" for i in range(COUNT))
        assert run["listed"] == [run["id"]]  # the plain one was deleted before the beta one
        refused = {"class": "NotFoundError", "status": 404}
        assert {
            name: run["other"][name] for name in ("retrieve", "results", "cancel", "delete")
        } == {
            "retrieve": refused,
            "results": refused,
            "cancel": refused,
            "delete": refused,
        }
        assert run["other"]["listed"] == []
        assert run["deleted"] == {"id": run["id"], "type": "message_batch_deleted"}
        assert run["after_delete"] == refused
        expected_spend += usages_cost(run["usages"])
    assert await main.gateway.quotas.spent(key) == expected_spend > 0

    beta_queries = {q for m, p, q, _ in services.seen.calls if p.startswith(BATCHES_PATH)}
    assert ("beta=true" in beta_queries) == (major == "0")  # 0.x calls the beta endpoint so

    canceled = report["cancel"]
    assert canceled["canceling"] in ("canceling", "ended")
    assert canceled["counts"]["succeeded"] == 1
    assert canceled["counts"]["canceled"] == COUNT - 1
    assert canceled["types"].count("canceled") == COUNT - 1
    cancel_key = await key_of(services.canceling, spec["cancel_key"])
    row = await settled(services.canceling, canceled["id"], cancel_key)
    assert await services.canceling.gateway.quotas.spent(cancel_key) == usages_cost(
        canceled["usages"]
    )
    assert row.cost_micro_usd is not None


@pytest.mark.sdk
@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_the_0x_sdk(sdk0_python: Path, services: Services) -> None:
    process = await asyncio.create_subprocess_exec(
        str(sdk0_python),
        str(HERE / "batch_sdk_check.py"),
        json.dumps(services.spec),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(RUN_TIMEOUT_S):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-3000:]
    await check_report(json.loads(out), services, "0")


@pytest.mark.sdk
async def test_the_2x_sdk(services: Services) -> None:
    try:
        version = importlib.metadata.version("anthropic")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the 2.x SDK is not installed (pip install -e '.[dev]')")
    if not version.startswith("2."):
        pytest.skip(f"this venv holds anthropic {version}, not the 2.x line")
    import batch_sdk_check  # beside this file, on the path as the other helpers are

    # the sync SDK blocks: in a thread, while this loop serves the gateway and the upstream
    report = await asyncio.to_thread(batch_sdk_check.run, services.spec)
    await check_report(report, services, "2")
