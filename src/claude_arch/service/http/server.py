"""Running the service under uvicorn, with a graceful shutdown.

On SIGTERM (or Ctrl-C) the replica first reports not-ready on ``/readyz`` so a load balancer stops
sending it new requests, stops accepting connections, lets open streams finish for up to
``shutdown_grace_s``, then closes its stores and upstream connections.

    serve(ServiceSettings(dev=True))     # blocks until stopped
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.supervisors import Multiprocess

from claude_arch.service.app import create_app, tune_gc
from claude_arch.service.http.hangup import http_protocol
from claude_arch.service.operations.logs import LOG_LEVEL_ENV, configure_logging

if TYPE_CHECKING:
    from fastapi import FastAPI

    from claude_arch.service.config import ServiceSettings

__all__ = ["DrainingServer", "serve", "uvicorn_config"]

_log = logging.getLogger("claude_arch.service")


class DrainingServer(uvicorn.Server):
    """uvicorn's server, exiting 0 after a graceful drain (the gateway itself turns not-ready
    on the signal: :meth:`~claude_arch.service.gateway.Gateway.drain_on_signals`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the stop signal once it has shut down, so a replica that drained
        # cleanly would end "killed by SIGTERM" (exit 143); a graceful shutdown exits 0
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def uvicorn_config(
    app: FastAPI | str, settings: ServiceSettings, **overrides: object
) -> uvicorn.Config:
    options: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "log_config": None,  # our JSON logging, configured once
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        # WebSocket pings at the protocol level, which browsers and client libraries answer by
        # themselves: a peer gone without closing (a dropped network) is found within two
        # heartbeats and its turn stopped, where TCP could take many minutes. The chat socket's
        # JSON pings are for the page to see.
        "ws_ping_interval": settings.heartbeat_s,
        "ws_ping_timeout": settings.heartbeat_s,
        "http": http_protocol(),  # tells a request its client hung up, with no task per request
        **overrides,
    }
    return uvicorn.Config(app, **options)  # type: ignore[arg-type]


def serve(settings: ServiceSettings, *, log_level: str = "INFO", workers: int = 1) -> None:
    """Serve until stopped; ``workers`` > 1 runs that many processes on one socket (each reads
    its settings from the environment, so pass overrides there: see ``claude-arch serve``)."""
    configure_logging(log_level)
    if workers <= 1:
        app = create_app(settings)
        tune_gc()
        DrainingServer(uvicorn_config(app, settings)).run()
        return
    os.environ[LOG_LEVEL_ENV] = log_level
    config = uvicorn_config(
        "claude_arch.service.app:app_from_env", settings, factory=True, workers=workers
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
