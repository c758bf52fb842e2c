"""``POST /v1/messages`` (JSON and SSE) and ``POST /v1/messages/count_tokens``.

One request goes: key → version → body (413 before reading an oversized one) → validation
(400 naming the field, an unknown top-level field among them unless ``lenient``; 404 for an
unknown model, and for one past its retirement day unless ``serve_retired``) → scripted rule →
injected fault → rate limits (429 with ``retry-after``) → prompt cache → reply → latency →
answer with ``anthropic-ratelimit-*``.

The cloud platforms' routes (:mod:`.bedrock_routes`, :mod:`.vertex_routes`) authenticate and
parse their own way, then share everything from the scripted rule on through :func:`answer`,
with their own :class:`Flavour` (stream framing, message IDs, headers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from claude_arch.constants import (
    HEADER_API_KEY,
    HEADER_AUTHORIZATION,
    HEADER_BETA,
    HEADER_REQUEST_ID,
    HEADER_RETRY_AFTER,
)
from claude_arch.core.pricing.catalog import ModelInfo
from claude_arch.core.ratelimit import Reservation
from claude_arch.core.tokens import count_request
from claude_arch.core.validation.fields import betas_of, refuse_inference_geo
from claude_arch.core.validation.schema import validate_create_params
from claude_arch.emulator.answers.replies import compose_reply, message_body, usage_body
from claude_arch.emulator.answers.streaming import SSE, StreamEncoding, StreamOutcome, stream_reply
from claude_arch.emulator.faults import Draw
from claude_arch.emulator.request_io import (
    ErrorAnswer,
    json_response,
    read_json,
    request_id,
    require_key,
    require_object,
    require_version,
)
from claude_arch.emulator.state import EmulatorState
from claude_arch.errors import ClaudeArchError

__all__ = [
    "ANTHROPIC",
    "STATE_KEY",
    "Flavour",
    "answer",
    "count_tokens",
    "create_message",
    "keep_request",
    "validate",
]

STATE_KEY = web.AppKey("emulator_state", EmulatorState)

_FAULT_ERRORS = {
    "429": (429, "rate_limit_error", "Number of requests has exceeded your rate limit (injected)"),
    "529": (529, "overloaded_error", "Overloaded"),
    "500": (500, "api_error", "Internal server error"),
    "504": (504, "timeout_error", "Request timed out"),
    "spend_limit": (429, "rate_limit_error", "Your organization has reached its spend limit"),
    "throttling": (429, "rate_limit_error", "Too many requests, please wait before trying again."),
    "service_unavailable": (503, "api_error", "Bedrock is unable to process your request."),
    "resource_exhausted": (
        429,
        "rate_limit_error",
        "Resource exhausted. Please try again later. Please refer to "
        "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.",
    ),
}
_FAULT_CODES = {
    "throttling": "ThrottlingException",
    "service_unavailable": "ServiceUnavailableException",
    "resource_exhausted": "RESOURCE_EXHAUSTED",
}
# A spend-limit 429 says so in error.details; clients must not retry it.
_SPEND_LIMIT_DETAILS = {"error_code": "enforced_spend_limit_reached"}
_SECRET = frozenset({HEADER_API_KEY, HEADER_AUTHORIZATION})  # never kept by keep_requests


@dataclass(frozen=True, slots=True)
class Flavour:
    """What differs between the APIs that serve one reply: the endpoint's name (for stats and
    faults), how a stream is framed (a fresh encoding per stream), the message ID's prefix,
    whether ``anthropic-ratelimit-*`` headers go out, and headers of its own for a message."""

    endpoint: str
    encoding: Callable[[], StreamEncoding] = field(default=lambda: SSE)
    id_prefix: str = "msg_"
    ratelimit_headers: bool = True
    message_headers: Callable[[web.Request, dict[str, Any]], dict[str, str]] | None = None


ANTHROPIC = Flavour("anthropic")


def keep_request(state: EmulatorState, request: web.Request, body: dict[str, Any]) -> None:
    """Keep what arrived for ``EmulatorServer.received()`` (credentials removed)."""
    if state.config.keep_requests:
        state.received.append(
            {
                "path": request.path,
                "headers": {
                    k.lower(): v for k, v in request.headers.items() if k.lower() not in _SECRET
                },
                "body": body,
            }
        )


def validate(
    state: EmulatorState, body: dict[str, Any], *, count_tokens: bool, betas: str | None
) -> tuple[dict[str, Any], ModelInfo]:
    """The validated parameters and their model; ErrorAnswer (400/404) naming the field."""
    try:
        params = validate_create_params(
            body,
            catalog=state.catalog,
            count_tokens=count_tokens,
            refuse_unknown=not state.config.lenient,
            betas=betas_of(betas),
        )
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None
    return params, state.catalog.resolve(params["model"])


async def _validated(
    request: web.Request, state: EmulatorState, *, count_tokens: bool
) -> tuple[str, dict[str, Any], ModelInfo]:
    key_id = require_key(request, state.allowed_keys)
    require_version(request)
    body = require_object(await read_json(request, state.config.max_request_bytes))
    keep_request(state, request, body)
    params, info = validate(
        state, body, count_tokens=count_tokens, betas=request.headers.get(HEADER_BETA)
    )
    try:  # the Claude API's rules: not the platforms'
        state.refuse_retired(info)
        if not count_tokens:
            refuse_inference_geo(params, info)
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None
    return key_id, params, info


async def count_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _, params, _ = await _validated(request, state, count_tokens=True)
    return json_response({"input_tokens": count_request(params)}, request_id(request))


async def _injected(state: EmulatorState, draw: Draw, info: ModelInfo, key_id: str) -> None:
    """Raise the injected error (or drop the connection); a pure delay returns."""
    fault = draw.fault
    if draw.slow_s:
        await asyncio.sleep(draw.slow_s)
    if fault is None or fault.kind in ("mid_stream_error", "stream_cut"):
        return
    state.stats.add(info.id, key_id, **{f"fault_{fault.kind}": 1})
    if fault.kind == "reset":
        raise ConnectionAbortedError("injected connection reset")
    status, error_type, message = _FAULT_ERRORS[fault.kind]
    headers: dict[str, str] = {}
    if status == 429:
        headers.update(state.limits.headers(info.family, key_id))
    if fault.kind == "spend_limit":
        raise ErrorAnswer(status, error_type, message, headers, _SPEND_LIMIT_DETAILS)
    if status in (429, 529):
        headers[HEADER_RETRY_AFTER] = state.limits.retry_after(fault.seconds)
    raise ErrorAnswer(status, error_type, message, headers, code=_FAULT_CODES.get(fault.kind))


async def create_message(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    state.stats.endpoint(ANTHROPIC.endpoint, requests=1)
    try:
        key_id, params, info = await _validated(request, state, count_tokens=False)
        return await answer(request, state, key_id, params, info, flavour=ANTHROPIC)
    except ErrorAnswer as exc:
        state.stats.endpoint(ANTHROPIC.endpoint, **{f"errors_{exc.status}": 1})
        raise


async def answer(
    request: web.Request,
    state: EmulatorState,
    key_id: str,
    params: dict[str, Any],
    info: ModelInfo,
    *,
    flavour: Flavour,
) -> web.StreamResponse:
    """Answer validated ``params`` (JSON or a stream) as ``flavour``'s API does; ErrorAnswer for
    a scripted or injected error and for a rate limit."""
    streaming = params.get("stream") is True
    rule = state.rules.match_request(params)
    if rule is not None and rule.error is not None:
        state.stats.add(info.id, key_id, requests=1, scripted_errors=1)
        headers: dict[str, str] = {}
        if rule.error.status in (429, 529):
            headers[HEADER_RETRY_AFTER] = state.limits.retry_after(rule.error.retry_after_s)
        raise ErrorAnswer(rule.error.status, rule.error.type, rule.error.message, headers)
    names = (info.id, *info.aliases)
    draw = state.faults.draw(
        params["model"], streaming=streaming, aliases=names, endpoint=flavour.endpoint
    )
    if draw is not None:
        await _injected(state, draw, info, key_id)
    total_input = count_request(params)
    max_tokens = params["max_tokens"]
    uncached = total_input - state.cache.cached(params, scope=key_id)
    try:
        admitted = state.limits.admit(
            info.family, key_id, input_tokens=uncached, output_tokens=max_tokens
        )
    except ClaudeArchError as exc:  # larger than a whole bucket: it could never be admitted
        raise ErrorAnswer.of(exc) from None
    if not isinstance(admitted, Reservation):
        state.stats.add(info.id, key_id, rate_limited=1)
        headers = state.limits.headers(info.family, key_id)
        headers[HEADER_RETRY_AFTER] = state.limits.retry_after(admitted)
        raise ErrorAnswer(
            429,
            "rate_limit_error",
            f"This request would exceed the rate limit for {info.family} models "
            f"({key_id}); retry after {headers[HEADER_RETRY_AFTER]} s",
            headers,
        )
    try:
        cache = state.cache.apply(params, scope=key_id, total_tokens=total_input)
    except ClaudeArchError as exc:
        state.limits.settle(admitted, input_tokens=0, output_tokens=0)
        raise ErrorAnswer.of(exc) from None
    billed_input = total_input - cache.read
    reply = compose_reply(params, info.family, state.config, rule=rule, salt=state.salt())
    usage = usage_body(
        total_input - cache.read - cache.created,
        cache,
        reply.output_tokens,
        "standard",
        params.get("inference_geo"),
    )
    message = message_body(params["model"], reply, usage)
    if flavour.id_prefix != "msg_":
        message["id"] = flavour.id_prefix + message["id"].removeprefix("msg_")
    headers = state.limits.headers(info.family, key_id) if flavour.ratelimit_headers else {}
    headers[HEADER_REQUEST_ID] = request_id(request)
    if flavour.message_headers is not None:
        headers.update(flavour.message_headers(request, message))
    state.stats.endpoint(flavour.endpoint, served=1)
    seed = hash(message["id"])
    counts = {
        "requests": 1,
        "input_tokens": usage["input_tokens"],
        "cache_read_input_tokens": cache.read,
        "cache_creation_input_tokens": cache.created,
    }
    if not streaming:
        delay = reply.delay_s + state.latency.whole_reply(info.family, seed, reply.output_tokens)
        try:
            if delay > 0:
                await asyncio.sleep(delay)
        finally:
            state.limits.settle(
                admitted, input_tokens=billed_input, output_tokens=reply.output_tokens
            )
        state.stats.add(info.id, key_id, output_tokens=reply.output_tokens, **counts)
        return json_response(message, request_id(request), headers)
    state.stats.add(info.id, key_id, streams_started=1, **counts)
    cancelled_at: list[float] = []
    outcome = StreamOutcome()
    finished: list[bool] = []

    def finish(outcome: StreamOutcome) -> None:
        finished.append(True)
        state.limits.settle(
            admitted, input_tokens=billed_input, output_tokens=outcome.output_tokens
        )
        state.stats.add(info.id, key_id, output_tokens=outcome.output_tokens)
        if not outcome.failed:
            state.stats.add(info.id, key_id, streams_completed=1)
            return
        state.stats.add(info.id, key_id, streams_failed=1)
        if draw is not None and draw.fault is not None:
            state.stats.add(info.id, key_id, **{f"fault_{draw.fault.kind}": 1})

    try:
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        return await stream_reply(
            request,
            headers,
            message,
            reply,
            first_token_s=state.latency.first_token(info.family, seed),
            per_token_s=state.latency.per_token(info.family, seed),
            ping_interval_s=state.config.ping_interval_s,
            draw=draw,
            outcome=outcome,
            on_finish=finish,
            on_cancel=cancelled_at.append,
            encoding=flavour.encoding(),
        )
    finally:
        if not finished:  # the client left first: charge what it was sent
            sent = outcome.output_tokens
            state.limits.settle(admitted, input_tokens=billed_input, output_tokens=sent)
            state.stats.add(info.id, key_id, output_tokens=sent, streams_cancelled=1)
            if cancelled_at:
                state.stats.stream_stopped_after(time.monotonic() - cancelled_at[0])
