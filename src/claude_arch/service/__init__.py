"""The streaming microservice: an Anthropic-compatible Claude gateway (FastAPI).

    claude-arch serve          # embedded defaults: emulator upstream, SQLite, local limits
    claude-arch keys create my-app --rpm 60 --budget-usd 20

    from claude_arch.service import create_app, ServiceSettings
    app = create_app(ServiceSettings())    # any ASGI server can run it

Needs the ``service`` extra: ``pip install 'claude-arch[service]'``; ``docs/service.md`` is
the guide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_arch.service.app import create_app
    from claude_arch.service.config import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from claude_arch.service.app import create_app

        return create_app
    if name == "ServiceSettings":
        from claude_arch.service.config import ServiceSettings

        return ServiceSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
