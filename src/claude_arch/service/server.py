"""Running the service under uvicorn, with a graceful shutdown.

On SIGTERM (or Ctrl-C) the replica first reports not-ready on ``/readyz`` so a load balancer stops
sending it new requests, stops accepting connections, lets open streams finish for up to
``shutdown_grace_s``, then closes its stores and upstream connections.

    serve(ServiceSettings(dev=True))     # blocks until stopped
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

from claude_arch.service.app import create_app
from claude_arch.service.logs import configure_logging

if TYPE_CHECKING:
    from fastapi import FastAPI

    from claude_arch.service.config import ServiceSettings

__all__ = ["DrainingServer", "serve", "uvicorn_config"]

_log = logging.getLogger("claude_arch.service")


class DrainingServer(uvicorn.Server):
    """A uvicorn server that marks the gateway as draining the moment a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        gateway = getattr(self._app.state, "gateway", None)
        if gateway is not None and not gateway.draining:
            gateway.draining = True
            _log.info("stop signal: draining", extra={"signal": sig})
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the stop signal once it has shut down, so a replica that drained
        # cleanly would end "killed by SIGTERM" (exit 143); a graceful shutdown exits 0
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def uvicorn_config(app: FastAPI, settings: ServiceSettings, **overrides: object) -> uvicorn.Config:
    options: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "log_config": None,  # our JSON logging, configured once
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "ws_ping_interval": None,  # the chat socket sends its own JSON pings
        **overrides,
    }
    return uvicorn.Config(app, **options)  # type: ignore[arg-type]


def serve(settings: ServiceSettings, *, log_level: str = "INFO") -> None:
    configure_logging(log_level)
    app = create_app(settings)
    DrainingServer(uvicorn_config(app, settings), app).run()
