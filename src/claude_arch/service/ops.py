"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (its stores and upstream
answer, and it is not draining) and ``/metrics`` (Prometheus text: the core client's call metrics
plus the gateway's own gauges).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, Gauge
from starlette.responses import JSONResponse, Response

from claude_arch.service.sessions import sessions_of

if TYPE_CHECKING:
    from claude_arch.service.gateway import Gateway

__all__ = ["GatewayGauges", "router"]

router = APIRouter(include_in_schema=False)
READY_TIMEOUT_S = 2.0
UPSTREAM_CHECK_TTL_S = 5.0
_UPSTREAM_OK_UNTIL = "readyz_upstream_ok_until"


class GatewayGauges:
    """Gauges read at scrape time from the gateway's live state."""

    def __init__(self, gateway: Gateway) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        gate = gateway.gate
        Gauge(
            "claude_arch_gateway_inflight", "Upstream calls in flight.", registry=self.registry
        ).set_function(lambda: gate.inflight)
        Gauge(
            "claude_arch_gateway_waiting", "Requests waiting for a slot.", registry=self.registry
        ).set_function(lambda: gate.waiting)
        Gauge(
            "claude_arch_gateway_rejected",
            "Requests turned away with a 529 since start.",
            registry=self.registry,
        ).set_function(lambda: gate.rejected)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    checks: dict[str, Any] = {}
    if gateway.draining:
        checks["draining"] = "shutting down"
    probes = {
        "database": gateway.keys.ping,
        "limits": gateway.quotas.ping,
        "sessions": sessions_of(gateway).ping,
        "upstream": lambda: _upstream(gateway),
    }
    # at once, so a slow store costs READY_TIMEOUT_S in all, not per check
    results = await asyncio.gather(*(_probe(p) for p in probes.values()))
    checks.update(zip(probes, results, strict=True))
    ready = all(v == "ok" for k, v in checks.items() if k != "draining") and not gateway.draining
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _probe(probe: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await probe()
    except Exception as exc:  # report which store failed, never why in detail (no URLs)
        return f"failed: {type(exc).__name__}"
    return "ok"


async def _upstream(gateway: Gateway) -> None:
    """A cheap authenticated GET upstream: reachable, and our key accepted. ``/readyz`` needs no
    key, so a success is remembered for UPSTREAM_CHECK_TTL_S: probing it in a loop cannot make
    the gateway call the API (with its key) more often than that."""
    now = time.monotonic()
    if now < gateway.extras.get(_UPSTREAM_OK_UNTIL, 0.0):
        return
    await gateway.client.check_upstream()
    gateway.extras[_UPSTREAM_OK_UNTIL] = time.monotonic() + UPSTREAM_CHECK_TTL_S


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    from prometheus_client.exposition import generate_latest

    gateway: Gateway = request.app.state.gateway
    gauges: GatewayGauges = request.app.state.gauges
    body = gateway.metrics.render() + bytes(generate_latest(gauges.registry))
    return Response(body, media_type=gateway.metrics.content_type)
