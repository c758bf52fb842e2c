"""The live dashboard: a meter that keeps per-model call statistics in bounded memory, and the
routes that show them: ``GET /v1/dashboard`` (JSON, needs an operator's service key),
``GET /v1/dashboard/series`` (the charts' minute-by-minute figures of the last hour and each key's
spend against its budget, same keys) and the web page at ``/`` with its assets under ``/static/``
(uPlot, vendored under ``web/vendor/uplot/`` with its licence and a manifest of its hashes).

    dashboard = Dashboard()
    gateway = await Gateway.start(settings, meters=(dashboard,))   # the client records each call
    gateway.extras["dashboard"] = dashboard
    app.include_router(dashboard_router)
    dashboard.snapshot(gate=gateway.gate)                            # what /v1/dashboard returns

What a snapshot holds, per model (canonical catalog IDs; anything else is ``other``, so a caller
cannot grow the table):

- ``requests``, ``errors``, ``cancelled``, ``input_tokens``, ``output_tokens``, ``cost_usd``:
  counted since the replica started (a few integers per model);
- ``latency_ms`` and ``ttft_ms`` ``p50``/``p99``: over the last ``window`` successful calls of that
  model (a ring buffer each, so memory is ``window`` floats per model, whatever the traffic).
  Percentiles are nearest-rank: p99 of 100 samples is the 99th smallest.

plus the last ``recent_errors`` failed calls (time, model, status, error type, the service's and
upstream's request ids; never prompt text or keys), and the gateway's gauges (in flight, waiting,
rejected with a 529). A cancelled call (the caller pressed Stop: status 499) is counted as
``cancelled``, not as an error. Requests the gateway refuses itself (an unknown model, a bad
body, a missing key, a key's limits) are recorded here too, by
:class:`~claude_arch.service.operations.endpoints.Refusals`. The charts' series:
:class:`~claude_arch.service.operations.dashboard_series.MinuteSeries`.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from claude_arch.constants import EMULATOR_API_KEY
from claude_arch.core.metering.labels import BoundedLabels
from claude_arch.errors import (
    CallCancelledError,
    ClaudeArchError,
    NotFoundError,
    PermissionDeniedError,
)
from claude_arch.service.operations.dashboard_series import (
    HISTORY_MINUTES,
    MAX_SERIES,
    MinuteSeries,
    bounded_int,
)
from claude_arch.service.operations.logs import current_request_id
from claude_arch.service.tenancy.auth import key_from_headers

if TYPE_CHECKING:
    from claude_arch.core.types import UsageRecord
    from claude_arch.service.api.gate import InflightGate
    from claude_arch.service.config import ServiceSettings
    from claude_arch.service.gateway import Gateway
    from claude_arch.service.tenancy.keys import ApiKey

__all__ = ["Dashboard", "percentile", "router", "upstream_is_emulator"]

_WEB = "web"
_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
_ASSETS = {"app.js": _JS, "charts.js": _JS, "style.css": _CSS}
_VENDOR = "vendor/uplot"
_VENDOR_ASSETS = {
    "uPlot.iife.min.js": _JS,
    "uPlot.min.css": _CSS,
    "LICENSE": "text/plain; charset=utf-8",
}
# Everything the page needs comes from this origin: no CDN, no inline script, no framing.
_PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

DEFAULT_WINDOW = 1000
DEFAULT_RECENT_ERRORS = 20
EXTRA_NAME = "dashboard"
"""The key of ``gateway.extras`` the routes read the meter from."""
MAX_KEYS = 20
"""The most service keys ``/v1/dashboard/series`` lists (the closest to their budgets first)."""
MAX_KEY_LOOKUPS = 200
"""The most keys whose spend one ``/v1/dashboard/series`` looks up in the limits store."""


def upstream_is_emulator(settings: ServiceSettings) -> bool:
    """True when the answers come from an emulator: the embedded one (no key, no base URL) or
    one the base URL points at, known by the emulator's own API key."""
    key = settings.api_key
    return settings.uses_emulator or (
        key is not None and key.get_secret_value() == EMULATOR_API_KEY
    )


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _ModelStats:
    window: int
    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_s: deque[float] = field(init=False)
    ttft_s: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self.latency_s = deque(maxlen=self.window)
        self.ttft_s = deque(maxlen=self.window)

    def to_dict(self) -> dict[str, Any]:
        latency, ttft = sorted(self.latency_s), sorted(self.ttft_s)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "cancelled": self.cancelled,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": str(self.cost_usd),
            "latency_ms": {
                "p50": _ms(percentile(latency, 50)),
                "p99": _ms(percentile(latency, 99)),
            },
            "ttft_ms": {"p50": _ms(percentile(ttft, 50)), "p99": _ms(percentile(ttft, 99))},
            "samples": len(latency),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class Dashboard:
    """A meter (``record``) keeping what the dashboard shows; safe to call from any thread.

    >>> from claude_arch.core.types import Usage, UsageRecord
    >>> board = Dashboard(window=10)
    >>> board.record(UsageRecord(model="claude-haiku-4-5", usage=Usage(10, 5), latency_s=0.2))
    >>> row = board.snapshot()["models"]["claude-haiku-4-5"]
    >>> row["requests"], row["output_tokens"], row["latency_ms"]["p50"]
    (1, 5, 200.0)
    """

    def __init__(
        self,
        *,
        window: int = DEFAULT_WINDOW,
        recent_errors: int = DEFAULT_RECENT_ERRORS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window < 1 or recent_errors < 1:
            raise ValueError("window and recent_errors must be at least 1")
        self.window = window
        self._clock = clock
        self._labels = BoundedLabels()
        self._models: dict[str, _ModelStats] = {}
        self._errors: deque[dict[str, Any]] = deque(maxlen=recent_errors)
        self._series = MinuteSeries()
        self._lock = threading.Lock()
        self.started_at = clock()

    def record(self, record: UsageRecord) -> None:
        model = self._labels.model(record.model)
        cancelled = record.error_type == CallCancelledError.error_type
        failed = record.error_type is not None and not cancelled
        error_type = self._labels.error_type(record.error_type) if failed else None
        error = (
            {
                "time": self._clock(),
                "model": model,
                "status": record.status,
                "error_type": error_type,
                "request_id": current_request_id(),
                "upstream_request_id": record.request_id,
            }
            if failed
            else None
        )
        with self._lock:
            stats = self._models.get(model)
            if stats is None:
                stats = self._models[model] = _ModelStats(self.window)
            stats.requests += 1
            stats.errors += failed
            stats.cancelled += cancelled
            stats.input_tokens += record.usage.input_tokens
            stats.output_tokens += record.usage.output_tokens
            stats.cost_usd += record.cost_usd
            # Latency of a failure or of a token count says nothing about answering: left out.
            if record.error_type is None and record.operation != "count_tokens":
                stats.latency_s.append(record.latency_s)
                if record.ttft_s is not None:
                    stats.ttft_s.append(record.ttft_s)
            if error is not None:
                self._errors.append(error)
            self._series.add(model, error_type, record, now=self._clock())

    def series(self, *, minutes: int = HISTORY_MINUTES, series: int = MAX_SERIES) -> dict[str, Any]:
        """The charts' figures: ``minutes`` (1..60) per-minute values of the ``series`` (1..12)
        busiest models and error types, JSON-ready (:meth:`MinuteSeries.window`)."""
        with self._lock:
            out = self._series.window(minutes=minutes, series=series, now=self._clock())
        out["now"] = self._clock()
        return out

    def snapshot(self, *, gate: InflightGate | None = None) -> dict[str, Any]:
        """Everything the page shows, JSON-ready; ``gate`` adds the replica's gauges."""
        with self._lock:
            models = {name: stats.to_dict() for name, stats in sorted(self._models.items())}
            errors = list(reversed(self._errors))  # newest first
            totals = {
                "requests": sum(s.requests for s in self._models.values()),
                "errors": sum(s.errors for s in self._models.values()),
                "cancelled": sum(s.cancelled for s in self._models.values()),
                "input_tokens": sum(s.input_tokens for s in self._models.values()),
                "output_tokens": sum(s.output_tokens for s in self._models.values()),
                "cost_usd": str(sum((s.cost_usd for s in self._models.values()), Decimal(0))),
            }
        out: dict[str, Any] = {
            "started_at": self.started_at,
            "now": self._clock(),
            "window": self.window,
            "totals": totals,
            "models": models,
            "recent_errors": errors,
        }
        if gate is not None:
            out["gateway"] = {
                "inflight": gate.inflight,
                "waiting": gate.waiting,
                "rejected": gate.rejected,
                "max_inflight": gate.max_inflight,
            }
        return out


# --- routes ---------------------------------------------------------------------------------
router = APIRouter()


async def _operator_board(request: Request) -> tuple[Gateway, Dashboard]:
    """The gateway and its meter, for a caller whose key may read the dashboard: 401 without a
    key, 403 for a key not in ``dashboard_keys`` (in dev mode anyone), 404 without a meter."""
    gateway: Gateway = request.app.state.gateway
    key = await gateway.authenticate(key_from_headers(request.headers))
    request.state.key_id = key.id
    allowed = gateway.settings.dashboard_keys
    if gateway.settings.requires_keys and key.id not in allowed and key.name not in allowed:
        # the snapshot covers every tenant of the replica: operators only
        raise PermissionDeniedError(
            "this key may not read the dashboard; an operator can list its id or name in "
            "CLAUDE_ARCH_DASHBOARD_KEYS"
        )
    board = gateway.extras.get(EXTRA_NAME)
    if not isinstance(board, Dashboard):
        raise NotFoundError("the dashboard is not enabled on this service")
    return gateway, board


@router.get("/v1/dashboard", summary="Live per-model statistics of this replica")
async def dashboard_snapshot(request: Request) -> dict[str, Any]:
    gateway, board = await _operator_board(request)
    out = board.snapshot(gate=gateway.gate)
    out["emulator"] = upstream_is_emulator(gateway.settings)
    return out


@router.get(
    "/v1/dashboard/series",
    summary="This replica's last hour, minute by minute, and each key's spend",
    description=(
        f"`minutes` (1-{HISTORY_MINUTES}, default {HISTORY_MINUTES}) and `series` (models and "
        f"error types, 1-{MAX_SERIES}, default {MAX_SERIES}) are clamped; anything that is no "
        f"integer means the default. At most {MAX_KEYS} keys are listed."
    ),
)
async def dashboard_series(request: Request) -> dict[str, Any]:
    gateway, board = await _operator_board(request)
    query = request.query_params
    minutes = bounded_int(
        query.get("minutes"), default=HISTORY_MINUTES, low=1, high=HISTORY_MINUTES
    )
    series = bounded_int(query.get("series"), default=MAX_SERIES, low=1, high=MAX_SERIES)
    out = board.series(minutes=minutes, series=series)
    out["emulator"] = upstream_is_emulator(gateway.settings)
    out["keys"] = await key_spend(gateway) if gateway.settings.requires_keys else []
    return out


async def key_spend(gateway: Gateway) -> list[dict[str, Any]]:
    """Each key's spend in its budget period: keys with a budget first, the closest to it
    first, then the biggest spenders; ``spent_usd`` None where the limits store did not say."""
    keys = (await gateway.keys.list())[:MAX_KEY_LOOKUPS]

    async def spent(key: ApiKey) -> Decimal | None:
        try:
            return await gateway.quotas.spent(key)
        except ClaudeArchError:  # the limits store is down: the chart says "unknown"
            return None

    amounts = await asyncio.gather(*(spent(key) for key in keys))

    def order(row: tuple[ApiKey, Decimal | None]) -> tuple[int, Decimal, str]:
        key, amount = row
        used = amount or Decimal(0)
        share = used / key.budget_usd if key.budget_usd else used
        return (0 if key.budget_usd else 1, -share, key.name)

    rows = sorted(zip(keys, amounts, strict=True), key=order)[:MAX_KEYS]
    return [
        {
            "id": key.id,
            "name": key.name,
            "spent_usd": None if amount is None else str(amount),
            "budget_usd": None if key.budget_usd is None else str(key.budget_usd),
            "period": key.budget_period,
        }
        for key, amount in rows
    ]


@router.get("/", include_in_schema=False)
async def page() -> Response:
    return Response(
        _asset("index.html"), media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
    )


@router.get("/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:  # a fixed list: no path ever reaches the filesystem from a URL
        raise NotFoundError(f"no static file {name[:100]!r}")
    return Response(_asset(name), media_type=media_type, headers=_PAGE_HEADERS)


@router.get("/static/vendor/uplot/{name}", include_in_schema=False)
async def vendor_asset(name: str) -> Response:
    media_type = _VENDOR_ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no static file {name[:100]!r}")
    return Response(_asset(f"{_VENDOR}/{name}"), media_type=media_type, headers=_PAGE_HEADERS)


@functools.cache
def _asset(name: str) -> bytes:
    return (resources.files("claude_arch.service") / _WEB / name).read_bytes()
