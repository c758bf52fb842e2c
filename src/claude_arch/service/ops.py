"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (its stores and upstream
answer, and it is not draining) and ``/metrics`` (Prometheus text: the core client's call metrics
plus the gateway's own gauges).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, Gauge
from starlette.responses import JSONResponse, Response

from claude_arch.core.wire import MODELS_PATH
from claude_arch.service.sessions import sessions_of

if TYPE_CHECKING:
    from claude_arch.service.gateway import Gateway

__all__ = ["GatewayGauges", "router"]

router = APIRouter(include_in_schema=False)
READY_TIMEOUT_S = 2.0


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
    for name, probe in (
        ("database", gateway.keys.ping),
        ("limits", gateway.quotas.ping),
        ("sessions", sessions_of(gateway).ping),
        ("upstream", lambda: _upstream(gateway)),
    ):
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await probe()
            checks[name] = "ok"
        except Exception as exc:  # report which store failed, never why in detail (no URLs)
            checks[name] = f"failed: {type(exc).__name__}"
    ready = all(v == "ok" for k, v in checks.items() if k != "draining") and not gateway.draining
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _upstream(gateway: Gateway) -> None:
    """A cheap authenticated GET upstream: reachable, and our key accepted."""
    await gateway.client.send_json(
        gateway.client.core.request("GET", MODELS_PATH + "?limit=1", None, None, 0)
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    from prometheus_client.exposition import generate_latest

    gateway: Gateway = request.app.state.gateway
    gauges: GatewayGauges = request.app.state.gauges
    body = gateway.metrics.render() + bytes(generate_latest(gauges.registry))
    return Response(body, media_type=gateway.metrics.content_type)
