"""``/readyz`` needs no key, so it must not let anyone make the gateway call the API at will; and
closing the gateway closes everything even when one component fails to close."""

from __future__ import annotations

from pathlib import Path

import httpx

from claude_arch.service.operations.endpoints import UPSTREAM_CHECK_TTL_S
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


async def test_a_good_upstream_check_is_remembered_for_a_few_seconds(tmp_path: Path) -> None:
    emulator = EmulatorServer()
    await emulator.start_async()
    async with (
        ServiceServer.for_emulator(emulator, tmp_path, dev=True) as svc,
        httpx.AsyncClient(base_url=svc.url) as http,
    ):
        assert (await http.get("/readyz")).json()["checks"]["upstream"] == "ok"
        await emulator.close_async()  # the upstream is gone...
        again = await http.get("/readyz")
        # ...but within UPSTREAM_CHECK_TTL_S the last success stands: a loop of probes makes
        # at most one upstream call per TTL
        assert again.json()["checks"]["upstream"] == "ok"
        svc.gateway.extras.pop("readyz_upstream_ok_until")  # as if the TTL had passed
        late = await http.get("/readyz")
    assert UPSTREAM_CHECK_TTL_S <= 10
    assert late.status_code == 503
    assert late.json()["checks"]["upstream"].startswith("failed")


async def _cannot_close() -> None:
    raise RuntimeError("cannot close")


async def test_one_component_failing_to_close_does_not_keep_the_others_open(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    svc = ServiceServer.for_emulator(emulator, tmp_path, dev=True)
    await svc.start_async()
    async with httpx.AsyncClient(base_url=svc.url) as http:
        assert (await http.get("/readyz")).status_code == 200  # the upstream pool is open
    gateway = svc.gateway
    transport = await gateway.client.transport()
    assert transport._session is not None  # type: ignore[attr-defined]
    gateway.quotas.aclose = _cannot_close  # type: ignore[method-assign]  # e.g. Redis gone
    await svc.close_async()
    assert transport._session is None  # type: ignore[attr-defined]  # the client was closed
    assert gateway.engine.pool.checkedout() == 0
