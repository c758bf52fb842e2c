"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (its stores and upstream
answer, and it is not draining) and ``/metrics`` (Prometheus text: the core client's call metrics
plus the gateway's own gauges); and :class:`Refusals`, which counts the errors the gateway answers
itself where the core client's failed calls are counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.responses import JSONResponse, Response

from claude_arch.core.metering.labels import OTHER, BoundedLabels
from claude_arch.core.types import UsageRecord
from claude_arch.errors import CallCancelledError
from claude_arch.service.chat.sessions import sessions_of
from claude_arch.service.operations.dashboard import EXTRA_NAME as DASHBOARD

if TYPE_CHECKING:
    from claude_arch.errors import ClaudeArchError
    from claude_arch.service.gateway import Gateway

__all__ = ["REFUSALS_COUNTED_UNDER", "GatewayGauges", "Refusals", "router"]

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


REFUSALS_COUNTED_UNDER = ("/v1/messages", "/v1/chat", "/v1/models")
"""The API's paths, whose refusals count as errors; the page's own routes (the dashboard polling
without a key, a missing asset, the advisor's form) and unknown paths do not."""
_OPERATIONS = (
    ("/v1/messages/count_tokens", "count_tokens"),
    ("/v1/messages/batches", "batch"),
    ("/v1/messages", "create"),
    ("/v1/chat", "stream"),
)


class Refusals:
    """Errors the gateway decides itself (an unknown model, a bad or oversized body, a missing
    or unknown key, a key's limits or budget, the in-flight bound, a crash), counted where the
    core client's failed calls are: ``claude_arch_requests_total`` with their status and error
    type, the dashboard's errors and recent errors; and ``claude_arch_gateway_refused_total``
    alone, so they can be told apart. Every error response goes through :meth:`count`;
    those the core client has already recorded (an upstream's answer, a call it attempted, a
    cancelled one) are left to it.

        refusals = Refusals(gateway, registry)      # the registry /metrics renders
        refusals.count(exc, "/v1/messages", upstream=False)
    """

    def __init__(self, gateway: Gateway, registry: CollectorRegistry) -> None:
        self._gateway = gateway
        self._labels = BoundedLabels(gateway.client.catalog)
        self.refused = Counter(
            "claude_arch_gateway_refused",
            "Requests the gateway answered with an error of its own, nothing sent upstream.",
            ("status", "error_type"),
            registry=registry,
        )

    def count(self, exc: ClaudeArchError, path: str, *, upstream: bool) -> None:
        """Count ``exc``, answered to a request for ``path``, unless it is not the gateway's
        own (``upstream``, or stamped with the core client's attempts) or not the API's."""
        if upstream or exc.attempts or isinstance(exc, CallCancelledError):
            return
        if not path.startswith(REFUSALS_COUNTED_UNDER):
            return
        status = exc.status if 400 <= exc.status <= 599 else 500
        error_type = self._labels.error_type(exc.error_type)
        model = exc.model or OTHER
        operation = next((op for prefix, op in _OPERATIONS if path.startswith(prefix)), OTHER)
        self.refused.labels(str(status), error_type).inc()
        self._gateway.metrics.requests.labels(
            self._labels.model(model), operation, str(status), error_type
        ).inc()
        board = self._gateway.extras.get(DASHBOARD)
        if board is not None:
            record = UsageRecord(
                model=model, operation=operation, status=status, error_type=error_type, attempts=0
            )
            board.record(record)


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
    if gateway.settings.requires_keys:
        body += await key_budget_metrics(gateway)
    return Response(body, media_type=gateway.metrics.content_type)


async def key_budget_metrics(gateway: Gateway) -> bytes:
    """``claude_arch_key_spend_usd`` and ``claude_arch_key_budget_usd`` (label ``key``: the
    key's id) for every key with a budget (at most the dashboard's key count), read at scrape
    time: what an alert on keys near their budget divides. A key whose spend the limits store
    did not give is left out."""
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.exposition import generate_latest

    from claude_arch.service.operations.dashboard import key_spend

    spend = GaugeMetricFamily(
        "claude_arch_key_spend_usd",
        "Spend of a service key in its current budget period, USD.",
        labels=["key"],
    )
    budget = GaugeMetricFamily(
        "claude_arch_key_budget_usd", "Budget of a service key per period, USD.", labels=["key"]
    )
    for row in await key_spend(gateway):
        if row["budget_usd"] is not None and row["spent_usd"] is not None:
            spend.add_metric([row["id"]], float(row["spent_usd"]))
            budget.add_metric([row["id"]], float(row["budget_usd"]))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(spend, budget))
    return bytes(generate_latest(registry))


class _Families:
    """A collector of metric families made for one scrape."""

    def __init__(self, *families: Any) -> None:
        self._families = families

    def collect(self) -> Any:
        return iter(self._families)
