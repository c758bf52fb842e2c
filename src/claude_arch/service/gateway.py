"""The service's shared state: one of each component per replica, built from the settings.

    gateway = await Gateway.start(ServiceSettings())
    ...
    await gateway.aclose()

``create_app`` builds it in its lifespan; tests may pass their own upstream client (pointed at an
emulator with faults, say).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from claude_arch.core.client import ClaudeClient
from claude_arch.core.metering import PrometheusMeter, ScopedMeter
from claude_arch.core.sql import make_engine
from claude_arch.errors import StoreUnavailableError
from claude_arch.service.api.gate import InflightGate
from claude_arch.service.api.upstream import finishing
from claude_arch.service.chat.sessions import EXTRAS_NAME as SESSIONS
from claude_arch.service.chat.sessions import SessionLimits, sessions_from_settings
from claude_arch.service.tenancy.keys import ApiKey, KeyStore
from claude_arch.service.tenancy.quota import Quotas

if TYPE_CHECKING:
    from types import FrameType

    from sqlalchemy.ext.asyncio import AsyncEngine

    from claude_arch.core.metering import Meter
    from claude_arch.core.routing import Router
    from claude_arch.service.config import ServiceSettings

__all__ = ["Gateway", "router_from_settings"]

_log = logging.getLogger("claude_arch.service")


def router_from_settings(settings: ServiceSettings) -> Router | None:
    """The router of ``model: "auto"`` the settings name (``CLAUDE_ARCH_ROUTING_POLICY`` and
    ``_CLASSIFIER``; see :func:`~claude_arch.core.routing.building.router_for`); None when no
    policy is set."""
    if not settings.routing_policy:
        return None
    from claude_arch.core.routing.building import router_for

    return router_for(
        settings.routing_policy,
        settings.routing_classifier,
        settings,
        fallbacks=settings.fallbacks,
    )


@dataclass(eq=False)
class Gateway:
    settings: ServiceSettings
    client: ClaudeClient
    engine: AsyncEngine
    keys: KeyStore
    quotas: Quotas
    gate: InflightGate
    metrics: PrometheusMeter
    scoped: ScopedMeter
    extras: dict[str, Any] = field(default_factory=dict)
    """Components the routers add (sessions, dashboard), by name."""
    draining: bool = False
    owns_client: bool = True

    @classmethod
    async def start(
        cls,
        settings: ServiceSettings,
        *,
        client: ClaudeClient | None = None,
        meters: tuple[Meter, ...] = (),
    ) -> Gateway:
        metrics = PrometheusMeter(genai=settings.genai_metrics)
        scoped = ScopedMeter()
        owns_client = client is None
        if client is None:
            client = ClaudeClient(
                settings,
                meters=(scoped, metrics, *meters),
                fallbacks=settings.fallbacks,
                router=router_from_settings(settings),
                owns_router=True,  # closed with the client: its classifier's client, its pool
            )
        else:
            client.add_meters(scoped, metrics, *meters)
        engine = make_engine(settings.sqlalchemy_url)
        keys = KeyStore(engine, cache_ttl_s=settings.key_cache_ttl_s)
        await keys.init()
        quotas = Quotas(redis_url=settings.redis_url)
        gate = InflightGate(
            max_inflight=settings.max_inflight, queue_timeout_s=settings.queue_timeout_s
        )
        # the embedded emulator, if any, starts now, not on a request; a cloud platform's
        # credentials are resolved now, so a missing one stops the start with what to set
        transport = await client.transport()
        check = getattr(transport, "check", None)
        if check is not None:
            await check()
        sessions = sessions_from_settings(
            settings,
            engine,
            limits=SessionLimits(
                max_turns=settings.session_max_turns,
                max_bytes=settings.session_max_bytes,
                ttl_s=settings.session_ttl_s,
            ),
        )
        await sessions.init()
        gateway = cls(
            settings=settings,
            client=client,
            engine=engine,
            keys=keys,
            quotas=quotas,
            gate=gate,
            metrics=metrics,
            scoped=scoped,
            owns_client=owns_client,
        )
        gateway.extras[SESSIONS] = sessions
        return gateway

    async def authenticate(self, secret: str | None) -> ApiKey:
        """The caller's key (401 if missing, unknown or revoked); anyone in loopback dev mode."""
        if not self.settings.requires_keys:
            return ApiKey.anonymous()
        try:
            return await self.keys.authenticate(secret)
        except (SQLAlchemyError, OSError) as exc:
            # the detail (host, driver message) goes to the log, not to the caller
            _log.warning("the key store is unreachable: %s", exc)
            raise StoreUnavailableError("the key store is unreachable; try again shortly") from exc

    def drain_on_signals(self) -> Callable[[], None]:
        """From the first SIGTERM/SIGINT on, report not-ready (``/readyz`` 503) so the load
        balancer stops sending new requests while uvicorn drains the open ones. With
        ``drain_delay_s``, uvicorn's shutdown starts that much later (a second signal: at once).

        Chains to the handlers in place (uvicorn's, which start the graceful shutdown); works the
        same in one process and under ``--workers``. Returns the function that restores them.
        Outside the main thread (a server in a test thread) signals cannot be caught: no-op."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous: dict[int, Any] = {}
        loop = asyncio.get_running_loop()
        delay = self.settings.drain_delay_s

        def chain(sig: int, frame: FrameType | None) -> None:
            before = previous.get(sig)
            if callable(before):
                before(sig, frame)

        def on_signal(sig: int, frame: FrameType | None) -> None:
            first, self.draining = not self.draining, True
            if first and delay:
                _log.info(
                    "stop signal: not ready; serving %.1f s more before draining",
                    delay,
                    extra={"signal": sig, "drain_delay_s": delay},
                )
                # requests keep being served while the load balancer sees /readyz fail
                loop.call_soon_threadsafe(loop.call_later, delay, chain, sig, frame)
                return
            if first:
                _log.info("stop signal: draining", extra={"signal": sig})
            chain(sig, frame)  # a second signal does not wait out the delay

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, on_signal)

        def restore() -> None:
            for sig, handler in previous.items():
                if signal.getsignal(sig) is on_signal:
                    signal.signal(sig, handler)

        return restore

    async def aclose(self) -> None:
        """Close every component; one that fails to close (logged) does not keep the others
        open."""
        await finishing(timeout_s=5.0)  # calls still being settled write to the stores below
        closers: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            (name, extra.aclose) for name, extra in self.extras.items() if hasattr(extra, "aclose")
        ]
        closers += [("limits", self.quotas.aclose), ("keys", self.keys.aclose)]
        if self.owns_client:
            closers.append(("upstream client", self.client.close))
        closers.append(("database", self.engine.dispose))
        for name, closer in closers:
            try:
                await closer()
            except Exception:
                _log.exception("closing %s failed", name)
