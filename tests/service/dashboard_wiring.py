"""A service with the dashboard (and the chat the page uses) on, however ``create_app`` wires it.

Once ``create_app`` includes the dashboard and chat routers and passes a :class:`Dashboard` meter
to the gateway, this only finds them; until then it adds them itself (the routers before start,
the meter on the running client), so the tests drive the same code either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from claude_arch.service.chat import routes as chat
from claude_arch.service.operations.dashboard import EXTRA_NAME, Dashboard, router
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer


@asynccontextmanager
async def dashboard_service(
    emulator: EmulatorServer, data_dir: Path, **settings: Any
) -> AsyncIterator[tuple[ServiceServer, Dashboard]]:
    """The service on ``emulator`` with its dashboard: ``(server, dashboard)``."""
    server = ServiceServer.for_emulator(emulator, data_dir, **settings)
    paths = {getattr(route, "path", None) for route in server.app.routes}
    if "/v1/dashboard" not in paths:
        server.app.include_router(router)
    if "/v1/chat/ws" not in paths:
        server.app.include_router(chat.router)
    async with server:
        gateway = server.gateway
        board = gateway.extras.get(EXTRA_NAME)
        if board is None:
            board = Dashboard()
            gateway.client.add_meters(board)
            gateway.extras[EXTRA_NAME] = board
        assert isinstance(board, Dashboard)
        yield server, board
