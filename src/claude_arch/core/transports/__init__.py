"""HTTP transports behind one small interface (:mod:`.base`).

``aiohttp_transport.AiohttpTransport`` is the async hot path, ``httpx_transport.HttpxTransport``
the light sync one; ``mock`` answers from a function for users' unit tests. The concrete modules
are imported on use, so importing this package loads no HTTP library.
"""

from __future__ import annotations

from claude_arch.core.transports.base import (
    AsyncResponse,
    AsyncTransport,
    SyncResponse,
    SyncTransport,
    WireRequest,
)
from claude_arch.core.transports.mock import MockResponse, MockTransport, SyncMockTransport

__all__ = [
    "AsyncResponse",
    "AsyncTransport",
    "MockResponse",
    "MockTransport",
    "SyncMockTransport",
    "SyncResponse",
    "SyncTransport",
    "WireRequest",
]
