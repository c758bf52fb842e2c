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
import threading
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from claude_arch.errors import ConfigError
from claude_arch.service.app import create_app
from claude_arch.service.config import ServiceSettings
from claude_arch.service.server import DrainingServer, uvicorn_config

if TYPE_CHECKING:
    from fastapi import FastAPI

    from claude_arch.core.client import ClaudeClient
    from claude_arch.service.gateway import Gateway
    from claude_arch.testing import EmulatorServer

__all__ = ["ServiceServer"]

_START_TIMEOUT_S = 15.0


class ServiceServer:
    """The service on a free port; ``gateway`` is its live state once started."""

    def __init__(
        self, settings: ServiceSettings, *, client: ClaudeClient | None = None, **uvicorn: Any
    ) -> None:
        self.settings = settings
        self.app: FastAPI = create_app(settings, client=client)
        self._uvicorn = uvicorn
        self.server: DrainingServer | None = None
        self.url = ""
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
        async with asyncio.timeout(_START_TIMEOUT_S):
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

    async def __aenter__(self) -> ServiceServer:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close_async()

    # --- in a thread -------------------------------------------------------------------------
    def start(self) -> ServiceServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            try:
                await self.start_async()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            if self._task is not None:
                await self._task  # until close() tells uvicorn to exit

        def run() -> None:
            asyncio.run(main())

        self._thread = threading.Thread(target=run, name="claude-arch-service", daemon=True)
        self._thread.start()
        if not ready.wait(_START_TIMEOUT_S):
            raise ConfigError("the service did not start within 15 s")
        if failure:
            raise ConfigError(f"the service could not start: {failure[0]!r}") from failure[0]
        return self

    def create_key_sync(self, name: str = "test", **limits: Any) -> str:
        """:meth:`create_key` from another thread, while serving from :meth:`start`."""
        loop = self.server_loop
        return asyncio.run_coroutine_threadsafe(self.create_key(name, **limits), loop).result(10)

    @property
    def server_loop(self) -> asyncio.AbstractEventLoop:
        if self._task is None:
            raise ConfigError("the service is not running")
        return self._task.get_loop()

    def close(self) -> None:
        if self._thread is not None:
            if self.server is not None and self._task is not None:
                server = self.server
                self._task.get_loop().call_soon_threadsafe(setattr, server, "should_exit", True)
            self._thread.join(_START_TIMEOUT_S)
            self._thread = None

    def __enter__(self) -> ServiceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
