"""The edge: one request in, one response out, every refusal decided before the upstream call.

    app = EdgeApp(EdgeConfig.from_env(env), platform)
    response = await app.handle(EdgeRequest("POST", "/v1/messages", headers, read_body))

The order of decisions: route and method (404, 405) → the declared size (413) → the caller's key
(401) → the body: size, UTF-8, JSON, model, ``max_tokens``, messages (413, 400, 403, 404) → the
key's per-minute limit (429) → the cache (a hit answers here) → upstream. A stream goes to the
caller as the upstream sends it: the core never reads it. A refusal of the edge's own upstream
credentials (401 or 403 from upstream) becomes a 502, so the caller is not told its key is wrong.

Routes: ``POST /v1/messages``, ``POST /v1/messages/count_tokens`` (checked, limited, never cached)
and ``GET /healthz``; ``OPTIONS`` answers CORS preflights.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from claude_arch.edge import protocol_data as protocol
from claude_arch.edge.cache import HEADER_CACHE, bypasses_cache, cache_key
from claude_arch.edge.config import EdgeConfig
from claude_arch.edge.cors import Cors
from claude_arch.edge.keys import EdgeKey, EdgeKeys
from claude_arch.edge.limits import WindowLimiter
from claude_arch.edge.platform import (
    CachedAnswer,
    EdgeRequest,
    EdgeResponse,
    Platform,
    UpstreamResponse,
)
from claude_arch.edge.problems import JSON, EdgeProblem, new_request_id
from claude_arch.edge.validate import CheckedBody, Policy, check_body

__all__ = ["EdgeApp"]

_log = logging.getLogger("claude_arch.edge")
_CRASH = "internal error at the edge; quote the request id"

MESSAGES = "/v1/messages"
COUNT_TOKENS = "/v1/messages/count_tokens"
HEALTH = "/healthz"
# what the caller may see of an upstream answer; the rest (the upstream's own rate limits, its
# cookies) stays at the edge
_PASSED_HEADERS = (
    "content-type",
    protocol.HEADER_REQUEST_ID,
    protocol.HEADER_RETRY_AFTER,
    protocol.HEADER_SHOULD_RETRY,
    "retry-after-ms",
)


class EdgeApp:
    """The edge core over one :class:`Platform`; build it once per isolate (it caches keys)."""

    def __init__(self, config: EdgeConfig, platform: Platform) -> None:
        self.config = config
        self.platform = platform
        self.cors = Cors(config.cors_origins)
        self.keys = EdgeKeys(
            static=config.static_keys,
            kv=platform.kv,
            clock=platform.clock,
            cache_s=config.key_cache_s,
        )
        self.limiter = WindowLimiter(platform.kv, clock=platform.clock) if platform.kv else None

    async def handle(self, request: EdgeRequest) -> EdgeResponse:
        """Answer ``request``; never raises for anything a caller can send."""
        request_id = new_request_id()
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            return EdgeResponse(204, self.cors.preflight(request.headers))
        try:
            response = await self._route(request)
        except EdgeProblem as problem:
            response = problem.to_response(request_id)
        except Exception:
            # a bug or a platform failure (KV, cache): the trace goes to the log with the id,
            # the caller gets the id, never the trace
            _log.exception("edge request %s failed", request_id)
            response = EdgeProblem(500, _CRASH).to_response(request_id)
        response.headers.update(self.cors.headers(origin))
        return response

    async def _route(self, request: EdgeRequest) -> EdgeResponse:
        path = request.path.split("?", 1)[0].rstrip("/") or "/"
        if path == HEALTH and request.method in ("GET", "HEAD"):
            return EdgeResponse(200, {"content-type": JSON}, b'{"status":"ok"}')
        if path not in (MESSAGES, COUNT_TOKENS):
            raise EdgeProblem(404, f"{request.method} {path}: no such route at this edge")
        if request.method != "POST":
            raise EdgeProblem(405, f"{request.method} {path}: only POST is allowed")
        return await self._messages(request, count_tokens=path == COUNT_TOKENS)

    async def _messages(self, request: EdgeRequest, *, count_tokens: bool) -> EdgeResponse:
        self._check_declared_size(request.headers)
        key = await self.keys.authenticate(request.headers)
        raw = await request.read_body(self.config.max_body_bytes)
        if len(raw) > self.config.max_body_bytes:
            raise self._too_large()
        policy = Policy(self.config.allowed_models, self.config.max_tokens, count_tokens)
        checked = check_body(raw, policy)
        limit_headers = await self._admit(key, request)
        use_cache = (
            not count_tokens
            and not checked.stream
            and self.config.cache_ttl_s > 0
            and self.platform.cache is not None
            and not bypasses_cache(request.headers)
        )
        slot = self._cache_slot(key, checked, request.headers) if use_cache else None
        if slot is not None and self.platform.cache is not None:
            cached = await self.platform.cache.get(slot, request.origin)
            if cached is not None:
                age = max(0, int(self.platform.clock() - cached.stored_at))
                headers = {**cached.headers, **limit_headers, HEADER_CACHE: "hit", "age": str(age)}
                return EdgeResponse(200, headers, cached.body)
        upstream = await self._call_upstream(
            request, raw, COUNT_TOKENS if count_tokens else MESSAGES
        )
        headers = {**_passed(upstream), **limit_headers}
        if upstream.status in (401, 403):
            raise EdgeProblem(
                502,
                "the edge's upstream credentials were refused by the Messages API; "
                "the operator must check them",
            )
        if checked.stream and upstream.status == 200:
            headers["cache-control"] = "no-cache"
            return EdgeResponse(200, headers, stream=upstream.stream())
        body = await upstream.read()
        if slot is not None:
            headers[HEADER_CACHE] = "miss"
            if upstream.status == 200:
                self._store(request, slot, _passed(upstream), body)
        return EdgeResponse(upstream.status, headers, body)

    def _check_declared_size(self, headers: Mapping[str, str]) -> None:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.config.max_body_bytes:
            raise self._too_large()

    def _too_large(self) -> EdgeProblem:
        return EdgeProblem(
            413,
            f"request body is larger than {self.config.max_body_bytes} bytes, this edge's limit",
        )

    async def _admit(self, key: EdgeKey, request: EdgeRequest) -> dict[str, str]:
        rpm = key.rpm if key.rpm is not None else self.config.default_rpm
        if rpm is None:
            return {}
        if self.limiter is None:
            raise EdgeProblem(500, "the edge has per-key limits but no KV binding to count them in")
        admission = await self.limiter.admit(key.id, rpm)
        if not admission.allowed:
            raise EdgeProblem(
                429,
                f"rate limit: key {key.id} may make {rpm} requests per minute",
                headers=admission.headers(),
                retry_after_s=self.limiter.retry_after_s(admission),
            )
        if admission.record is not None:
            self._defer(request, admission.record())
        return admission.headers()

    def _cache_slot(self, key: EdgeKey, checked: CheckedBody, headers: Mapping[str, str]) -> str:
        return cache_key(
            checked.params,
            scope="" if self.config.cache_shared else key.id,
            version=headers.get(protocol.HEADER_VERSION) or protocol.DEFAULT_API_VERSION,
            beta=headers.get(protocol.HEADER_BETA, ""),
        )

    def _store(self, request: EdgeRequest, slot: str, headers: dict[str, str], body: bytes) -> None:
        cache = self.platform.cache
        if cache is None:
            return
        answer = CachedAnswer(headers, body, self.platform.clock())
        self._defer(request, cache.put(slot, request.origin, answer, ttl_s=self.config.cache_ttl_s))

    def _defer(self, request: EdgeRequest, work: Coroutine[Any, Any, None]) -> None:
        (request.defer or self.platform.defer)(work)

    async def _call_upstream(self, request: EdgeRequest, raw: bytes, path: str) -> UpstreamResponse:
        headers = {
            "content-type": JSON,
            protocol.HEADER_VERSION: request.headers.get(protocol.HEADER_VERSION)
            or protocol.DEFAULT_API_VERSION,
        }
        beta = request.headers.get(protocol.HEADER_BETA)
        if beta:
            headers[protocol.HEADER_BETA] = beta
        if self.config.upstream_key:
            headers[protocol.HEADER_API_KEY] = self.config.upstream_key
        try:
            return await self.platform.fetch(self.config.upstream_url + path, headers, raw)
        except OSError:
            # never the address or the library's words: a base URL can carry an account token
            raise EdgeProblem(
                502, "the Messages API could not be reached from the edge", should_retry=True
            ) from None


def _passed(upstream: UpstreamResponse) -> dict[str, str]:
    found = {name: upstream.header(name) for name in _PASSED_HEADERS}
    return {name: value for name, value in found.items() if value is not None}
