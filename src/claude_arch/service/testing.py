"""Run the service on a free local port inside a test, against an emulator (or any upstream).

    async with EmulatorServer() as emulator, ServiceServer.for_emulator(emulator, tmp_path) as svc:
        key = await svc.create_key("tests", rpm=60)
        async with httpx.AsyncClient(base_url=svc.url) as http:
            r = await http.post("/v1/messages", headers={"x-api-key": key}, json={...})

``ServiceServer`` runs uvicorn in the current event loop (``async with``) or in a thread with its
own loop (``with``: for synchronous SDK clients). Settings are whatever you pass; port 0 picks a
free port; ``url`` is known once started.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from claude_arch.background import BackgroundServer
from claude_arch.errors import ConfigError
from claude_arch.service.app import create_app
from claude_arch.service.config import ServiceSettings
from claude_arch.service.http.server import DrainingServer, uvicorn_config

if TYPE_CHECKING:
    from fastapi import FastAPI

    from claude_arch.core.client import ClaudeClient
    from claude_arch.service.gateway import Gateway
    from claude_arch.testing import EmulatorServer

__all__ = ["ServiceServer"]


class ServiceServer(BackgroundServer):
    """The service on a free port; ``gateway`` is its live state once started."""

    thread_name = "claude-arch-service"
    start_timeout_s = 15.0

    def __init__(
        self, settings: ServiceSettings, *, client: ClaudeClient | None = None, **uvicorn: Any
    ) -> None:
        super().__init__()
        self.settings = settings
        self.app: FastAPI = create_app(settings, client=client)
        self._uvicorn = uvicorn
        self.server: DrainingServer | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_emulator(
        cls, emulator: EmulatorServer, data_dir: Path, **settings: Any
    ) -> ServiceServer:
        """A service whose upstream is ``emulator``, with its state in ``data_dir``."""
        values: dict[str, Any] = {
            "base_url": emulator.url,
            "api_key": emulator.api_key,
            "data_dir": data_dir,
            "port": 0,
            "rate_limit_tier": "none",
            **settings,
        }
        return cls(ServiceSettings(_env_file=None, **values))

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    async def create_key(self, name: str = "test", **limits: Any) -> str:
        """A new service key (its secret), with ``rpm``/``tpm``/``budget_usd``/``budget_period``."""
        if "budget_usd" in limits and limits["budget_usd"] is not None:
            limits["budget_usd"] = Decimal(str(limits["budget_usd"]))
        _key, secret = await self.gateway.keys.create(name, **limits)
        return secret

    # --- in this loop ------------------------------------------------------------------------
    async def start_async(self) -> ServiceServer:
        config: uvicorn.Config = uvicorn_config(self.app, self.settings, **self._uvicorn)
        server = DrainingServer(config)
        self.server = server
        self._task = asyncio.create_task(server.serve())
        async with asyncio.timeout(self.start_timeout_s):
            while not server.started:
                if self._task.done():
                    self._task.result()  # raises what stopped it
                    raise ConfigError("the service stopped before it started")
                await asyncio.sleep(0.01)
        sock = server.servers[0].sockets[0].getsockname()
        self.url = f"http://{sock[0]}:{sock[1]}"
        return self

    async def close_async(self) -> None:
        if self.server is not None and self._task is not None:
            self.server.should_exit = True
            await self._task
            self.server = None
            self._task = None

    def create_key_sync(self, name: str = "test", **limits: Any) -> str:
        """:meth:`create_key` from another thread, while serving from :meth:`start`."""
        if self.loop is None:
            raise ConfigError("create_key_sync needs the service started with start() / with")
        future = asyncio.run_coroutine_threadsafe(self.create_key(name, **limits), self.loop)
        return future.result(10)
