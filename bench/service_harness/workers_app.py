"""The service app for ``uvicorn --factory workers_app:create --workers N`` (the scaling run).

``claude-arch serve`` runs one process; uvicorn's ``--workers`` forks N that share one listening
socket. Each worker builds its app from the environment (``CLAUDE_ARCH_*``), as `serve` does, with
the service's JSON logging, so one and two workers run the same code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_arch.service.app import create_app
from claude_arch.service.config import ServiceSettings
from claude_arch.service.logs import configure_logging

if TYPE_CHECKING:
    from fastapi import FastAPI


def create() -> FastAPI:
    configure_logging("INFO")
    return create_app(ServiceSettings())
