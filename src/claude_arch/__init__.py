"""claude-arch: choose and run production architectures for applications on the Claude API.

    >>> import asyncio
    >>> from claude_arch import ClaudeClient
    >>> async def main() -> None:
    ...     async with ClaudeClient() as claude:  # no ANTHROPIC_API_KEY: the embedded emulator
    ...         msg = await claude.create(
    ...             model="claude-haiku-4-5",
    ...             max_tokens=256,
    ...             messages=[{"role": "user", "content": "Hello"}],
    ...         )
    ...         print(msg.text, msg.record.cost_usd)

Importing the package is cheap: the client, its transport and every optional integration load
on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from claude_arch.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClaudeArchError,
    ConfigError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
    SpendLimitError,
    StreamInterruptedError,
    UnknownModelError,
)

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.pricing.catalog import Catalog, default_catalog
    from claude_arch.core.streams.async_stream import MessageStream
    from claude_arch.core.streams.sync_stream import SyncMessageStream
    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.core.transports.mock import MockResponse, MockTransport, SyncMockTransport
    from claude_arch.core.types import USE_DEFAULT, Message, Usage, UsageRecord, UseDefault
    from claude_arch.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "USE_DEFAULT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Catalog",
    "ClaudeArchError",
    "ClaudeClient",
    "ConfigError",
    "InvalidRequestError",
    "Message",
    "MessageStream",
    "MockResponse",
    "MockTransport",
    "OverloadedError",
    "RateLimitError",
    "Settings",
    "SpendLimitError",
    "StreamInterruptedError",
    "SyncClaudeClient",
    "SyncMessageStream",
    "SyncMockTransport",
    "UnknownModelError",
    "Usage",
    "UsageRecord",
    "UseDefault",
    "default_catalog",
]

_LAZY = {
    "Catalog": "claude_arch.core.pricing.catalog",
    "default_catalog": "claude_arch.core.pricing.catalog",
    "ClaudeClient": "claude_arch.core.client",
    "SyncClaudeClient": "claude_arch.core.sync_client",
    "MessageStream": "claude_arch.core.streams.async_stream",
    "SyncMessageStream": "claude_arch.core.streams.sync_stream",
    "MockResponse": "claude_arch.core.transports.mock",
    "MockTransport": "claude_arch.core.transports.mock",
    "SyncMockTransport": "claude_arch.core.transports.mock",
    "Message": "claude_arch.core.types",
    "Usage": "claude_arch.core.types",
    "UsageRecord": "claude_arch.core.types",
    "USE_DEFAULT": "claude_arch.core.types",
    "UseDefault": "claude_arch.core.types",
    "Settings": "claude_arch.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'claude_arch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
