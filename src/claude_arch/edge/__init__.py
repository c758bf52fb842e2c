"""The edge variant: a stdlib-only core that runs as a Cloudflare Python Worker and under CPython.

    from claude_arch.edge import EdgeApp, EdgeConfig, EdgeRequest
    app = EdgeApp(EdgeConfig.from_env(env), platform)      # platform: fetch, KV, cache, clock
    response = await app.handle(EdgeRequest("POST", "/v1/messages", headers, read_body))

The modules of this folder (those exported here, :mod:`~claude_arch.edge.on_workers`, the
generated :mod:`~claude_arch.edge.protocol_data`) use the standard library only and are what the
worker uploads (:data:`claude_arch.edge.cpython.bundle.WORKER_MODULES`). What runs under
CPython only is in :mod:`claude_arch.edge.cpython`: ``claude-arch edge`` and ``edge serve`` with
its platform, the protocol-data generator, the bundler and the export of the service's keys.
``docs/edge.md`` tells the whole story.
"""

from __future__ import annotations

from claude_arch.edge.config import EdgeConfig, EdgeConfigError
from claude_arch.edge.handler import EdgeApp
from claude_arch.edge.keys import EdgeKey, hash_secret
from claude_arch.edge.platform import (
    CachedAnswer,
    EdgeRequest,
    EdgeResponse,
    MemoryCache,
    MemoryKeyValue,
    Platform,
)
from claude_arch.edge.problems import EdgeProblem

__all__ = [
    "CachedAnswer",
    "EdgeApp",
    "EdgeConfig",
    "EdgeConfigError",
    "EdgeKey",
    "EdgeProblem",
    "EdgeRequest",
    "EdgeResponse",
    "MemoryCache",
    "MemoryKeyValue",
    "Platform",
    "hash_secret",
]
