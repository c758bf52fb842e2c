"""The edge variant: a stdlib-only core that runs as a Cloudflare Python Worker and under CPython.

    from claude_arch.edge import EdgeApp, EdgeConfig, EdgeRequest
    app = EdgeApp(EdgeConfig.from_env(env), platform)      # platform: fetch, KV, cache, clock
    response = await app.handle(EdgeRequest("POST", "/v1/messages", headers, read_body))

The modules exported here, and :mod:`~claude_arch.edge.on_workers`, use the standard library only
and are what the worker uploads (:data:`claude_arch.edge.bundle.WORKER_MODULES`). The rest runs
under CPython only: :mod:`~claude_arch.edge.cpython` and :mod:`~claude_arch.edge.serve`
(``claude-arch edge serve``), :mod:`~claude_arch.edge.generate` (writes
:mod:`~claude_arch.edge.protocol_data` from core), :mod:`~claude_arch.edge.bundle` and
:mod:`~claude_arch.edge.keys_export`. ``docs/edge.md`` tells the whole story.
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
