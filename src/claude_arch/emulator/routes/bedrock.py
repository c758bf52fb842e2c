"""Amazon Bedrock's runtime API for Claude: InvokeModel, its response stream, CountTokens, and
the Messages endpoint.

    POST /model/{modelId}/invoke                      the Messages body, without model and
    POST /model/{modelId}/invoke-with-response-stream   stream, with anthropic_version
    POST /model/{modelId}/count-tokens                {"input": {"invokeModel": {"body": b64}}}
    POST /anthropic/v1/messages                       the Messages API itself (model: a Bedrock
    POST /anthropic/v1/messages/count_tokens          ID in the body, anthropic-version header)

``modelId`` is a catalog model's Bedrock ID, bare (``anthropic.claude-…``), behind an
inference-profile prefix (``global.``, ``us.`` …) or as an inference-profile ARN. Requests are
SigV4-signed (service ``bedrock``; on the Messages endpoint ``bedrock-mantle`` too, as the
bedrock-mantle host signs) with a key pair of ``aws_credentials``, or carry a Bedrock API key as
``Authorization: Bearer``. InvokeModel streams are AWS event streams whose ``chunk`` events hold
``{"bytes": base64(<Messages API event>)}``; its errors are Bedrock's ``{"message": …}`` with
the error's name in ``x-amzn-ErrorType``. The Messages endpoint streams SSE and answers the
model's errors in the Anthropic shape, Bedrock's own (authentication, throttling) in Bedrock's.
Everything after authentication is the Anthropic routes' own
(:func:`claude_arch.emulator.routes.messages.answer`).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from aiohttp import web

from claude_arch.constants import (
    API_VERSION_2X,
    HEADER_AUTHORIZATION,
    HEADER_BETA,
    HEADER_VERSION,
    SUPPORTED_API_VERSIONS,
)
from claude_arch.core.platforms.eventstream import encode_message
from claude_arch.core.platforms.model_ids import PlatformModels
from claude_arch.core.platforms.sigv4 import verify_signature
from claude_arch.core.pricing.catalog import ModelInfo
from claude_arch.core.tokens import count_request
from claude_arch.emulator.ids import short_hash
from claude_arch.emulator.request_io import (
    ErrorAnswer,
    error_response,
    json_response,
    parse_json,
    read_body,
    request_id,
    require_object,
)
from claude_arch.emulator.routes.messages import STATE_KEY, Flavour, answer, keep_request, validate
from claude_arch.emulator.state import EmulatorState

__all__ = ["BEDROCK", "BEDROCK_MESSAGES", "add_bedrock_routes", "bedrock_error_response"]

BEDROCK_VERSIONS = frozenset({"bedrock-2023-05-31", API_VERSION_2X})
"""What ``anthropic_version`` may say: Bedrock's own, and what the 2.x SDK sends there."""
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
_AUTH_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.coral.service/"
# Our status → Bedrock's error name and status, for errors raised by the shared pipeline
_BY_STATUS = {
    400: ("ValidationException", 400),
    401: ("AccessDeniedException", 403),
    403: ("AccessDeniedException", 403),
    404: ("ResourceNotFoundException", 404),
    413: ("ValidationException", 400),
    429: ("ThrottlingException", 429),
    503: ("ServiceUnavailableException", 503),
    504: ("ModelTimeoutException", 408),
    529: ("ServiceUnavailableException", 503),
}
_STATUS_OF = {
    "ThrottlingException": 429,
    "ServiceUnavailableException": 503,
}
_EXTRANEOUS = "Malformed input request: #: extraneous key [{}] is not permitted, please reformat "
_EXTRANEOUS += "your input and try again."


def bedrock_error_response(exc: ErrorAnswer) -> web.Response:
    """``exc`` as Bedrock answers it: ``{"message"}`` and ``x-amzn-ErrorType``."""
    if exc.code is not None:
        name, status = exc.code, _STATUS_OF.get(exc.code, exc.status)
    else:
        name, status = _BY_STATUS.get(exc.status, ("InternalServerException", 500))
    suffix = _AUTH_SUFFIX if name.endswith(("SignatureException", "ClientException")) else ""
    return web.Response(
        status=status,
        body=json.dumps({"message": exc.message}).encode(),
        content_type="application/json",
        headers={
            "x-amzn-ErrorType": name + (suffix or _ERROR_TYPE_SUFFIX),
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )


class BedrockEventStream:
    """Frames one stream's events as Bedrock does, closing with its invocation metrics."""

    headers: Mapping[str, str] = MappingProxyType(
        {"Content-Type": "application/vnd.amazon.eventstream"}
    )
    _CHUNK: ClassVar[Mapping[str, str]] = MappingProxyType(
        {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    )

    def __init__(self) -> None:
        self._input_tokens = 0
        self._output_tokens = 0

    def event(self, name: str, data: dict[str, Any]) -> bytes:
        if name == "message_start":
            self._input_tokens = int(data["message"]["usage"].get("input_tokens", 0))
        elif name == "message_delta":
            self._output_tokens = int(data["usage"].get("output_tokens", 0))
        elif name == "message_stop":
            data = {
                **data,
                "amazon-bedrock-invocationMetrics": {
                    "inputTokenCount": self._input_tokens,
                    "outputTokenCount": self._output_tokens,
                    "invocationLatency": 0,
                    "firstByteLatency": 0,
                },
            }
        raw = json.dumps(data, separators=(",", ":")).encode()
        payload = json.dumps({"bytes": base64.b64encode(raw).decode()}).encode()
        return encode_message(self._CHUNK, payload)

    def ping(self) -> bytes:
        return self.event("ping", {"type": "ping"})

    def overloaded(self) -> bytes:
        headers = {
            ":exception-type": "serviceUnavailableException",
            ":content-type": "application/json",
            ":message-type": "exception",
        }
        return encode_message(headers, b'{"message":"Bedrock is unable to process your request."}')


def _message_headers(request: web.Request, message: dict[str, Any]) -> dict[str, str]:
    usage = message["usage"]
    return {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "X-Amzn-Bedrock-Input-Token-Count": str(usage["input_tokens"]),
        "X-Amzn-Bedrock-Output-Token-Count": str(usage["output_tokens"]),
        "X-Amzn-Bedrock-Invocation-Latency": "0",
    }


BEDROCK = Flavour(
    "bedrock",
    encoding=BedrockEventStream,
    id_prefix="msg_bdrk_",
    ratelimit_headers=False,
    message_headers=_message_headers,
)
BEDROCK_MESSAGES = Flavour(
    "bedrock", id_prefix="msg_bdrk_", ratelimit_headers=False, message_headers=_message_headers
)
"""Bedrock's Messages endpoint: Bedrock's endpoint (stats, faults) and IDs, SSE streams."""
MODELS_KEY = web.AppKey("bedrock_models", PlatformModels)
_SIGNING_NAMES = frozenset({"bedrock"})
_MESSAGES_SIGNING_NAMES = frozenset({"bedrock", "bedrock-mantle"})


def _authenticate(
    request: web.Request,
    state: EmulatorState,
    body: bytes,
    services: frozenset[str] = _SIGNING_NAMES,
) -> str:
    """The caller's key ID (a hash), or ErrorAnswer in Bedrock's 403 shape."""
    auth = request.headers.get(HEADER_AUTHORIZATION, "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if token and token in state.config.bedrock_api_keys:
            return short_hash(token)
        raise ErrorAnswer(
            403, "permission_error", "Invalid API Key format", code="AccessDeniedException"
        )
    headers = {name.lower(): value for name, value in request.headers.items()}
    path, _, query = request.raw_path.partition("?")
    check = verify_signature(
        request.method, path, headers, body, secrets=state.config.aws_credentials, query=query
    )
    if not check.ok:
        message = check.message
        if check.canonical:  # AWS shows what it computed; it holds no secret key
            message += (
                f"\n\nThe Canonical String for this request should have been\n'{check.canonical}'"
                f"\n\nThe String-to-Sign should have been\n'{check.string_to_sign}'\n"
            )
        raise ErrorAnswer(403, "permission_error", message, code=check.code)
    if check.service not in services:
        raise ErrorAnswer(
            403,
            "permission_error",
            f"Credential should be scoped to correct service: '{min(services)}'. ",
            code="InvalidSignatureException",
        )
    return short_hash(check.access_key)


def _model(request: web.Request) -> Any:
    model_id = request.match_info["model_id"]
    info = request.app[MODELS_KEY].from_bedrock(model_id)
    if info is None:
        raise ErrorAnswer(400, "invalid_request_error", "The provided model identifier is invalid.")
    return info


def _invoke_body(raw: bytes, model: str, *, streaming: bool) -> tuple[dict[str, Any], str | None]:
    body = require_object(parse_json(raw))
    for key in ("model", "stream"):
        if key in body:
            raise ErrorAnswer(400, "invalid_request_error", _EXTRANEOUS.format(key))
    version = body.pop("anthropic_version", None)
    if version is None:
        raise ErrorAnswer(
            400,
            "invalid_request_error",
            "Malformed input request: #: required key [anthropic_version] not found, please "
            "reformat your input and try again.",
        )
    if version not in BEDROCK_VERSIONS:
        raise ErrorAnswer(400, "invalid_request_error", f"Invalid API version: {str(version)[:40]}")
    betas = body.pop("anthropic_beta", None)
    if betas is not None and not (
        isinstance(betas, list) and all(isinstance(b, str) for b in betas)
    ):
        raise ErrorAnswer(
            400, "invalid_request_error", "anthropic_beta: expected a list of strings"
        )
    body["model"] = model
    if streaming:
        body["stream"] = True
    return body, ",".join(betas) if betas else None


async def invoke(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    state.stats.endpoint(BEDROCK.endpoint, requests=1)
    try:
        raw = await read_body(request, state.config.max_request_bytes)
        key_id = _authenticate(request, state, raw)
        info = _model(request)
        streaming = request.path.endswith("-with-response-stream")
        body, betas = _invoke_body(raw, info.id, streaming=streaming)
        keep_request(state, request, body)
        params, info = validate(state, body, count_tokens=False, betas=betas)
        return await answer(request, state, key_id, params, info, flavour=BEDROCK)
    except ErrorAnswer as exc:
        state.stats.endpoint(BEDROCK.endpoint, **{f"errors_{exc.status}": 1})
        state.stats.error(exc.status)
        return bedrock_error_response(exc)


async def count_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.stats.endpoint(BEDROCK.endpoint, requests=1, count_tokens=1)
    try:
        raw = await read_body(request, state.config.max_request_bytes)
        _authenticate(request, state, raw)
        info = _model(request)
        wrapper = require_object(parse_json(raw))
        try:
            inner = base64.b64decode(wrapper["input"]["invokeModel"]["body"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            raise ErrorAnswer(
                400,
                "invalid_request_error",
                "input.invokeModel.body: expected the base64 of an InvokeModel body",
            ) from None
        body, betas = _invoke_body(inner, info.id, streaming=False)
        body.pop("max_tokens", None)
        params, _ = validate(state, body, count_tokens=True, betas=betas)
    except ErrorAnswer as exc:
        state.stats.endpoint(BEDROCK.endpoint, **{f"errors_{exc.status}": 1})
        state.stats.error(exc.status)
        return bedrock_error_response(exc)
    return web.json_response(
        {"inputTokens": count_request(params)}, headers={"x-amzn-RequestId": str(uuid.uuid4())}
    )


def _messages_error(request: web.Request, exc: ErrorAnswer) -> web.Response:
    """Bedrock's own refusals (authentication, throttling, no capacity: they carry an AWS error
    name) in Bedrock's shape; the model's errors in the Anthropic shape, as the endpoint's."""
    if exc.code is not None:
        return bedrock_error_response(exc)
    rid = request_id(request)
    headers = {**exc.headers, "x-amzn-RequestId": rid}
    return error_response(
        exc.status, exc.error_type, exc.message, rid, headers, details=exc.details
    )


def _messages_body(request: web.Request, raw: bytes) -> tuple[dict[str, Any], ModelInfo]:
    """The Messages body with its Bedrock model ID resolved to the catalog model; a 400 for a
    version or model Bedrock does not know."""
    version = request.headers.get(HEADER_VERSION)
    if version is not None and version not in SUPPORTED_API_VERSIONS:
        raise ErrorAnswer(
            400, "invalid_request_error", f"anthropic-version: {version[:40]!r} is not supported"
        )
    body = require_object(parse_json(raw))
    body.pop("anthropic_version", None)  # in the body is accepted too
    model_id = body.get("model")
    info = request.app[MODELS_KEY].from_bedrock(model_id) if isinstance(model_id, str) else None
    if info is None:
        raise ErrorAnswer(400, "invalid_request_error", "The provided model identifier is invalid.")
    return {**body, "model": info.id}, info


async def messages(request: web.Request) -> web.StreamResponse:
    """``POST /anthropic/v1/messages``: the Messages API on Bedrock."""
    state = request.app[STATE_KEY]
    state.stats.endpoint(BEDROCK_MESSAGES.endpoint, requests=1, messages_api=1)
    try:
        raw = await read_body(request, state.config.max_request_bytes)
        key_id = _authenticate(request, state, raw, _MESSAGES_SIGNING_NAMES)
        body, _ = _messages_body(request, raw)
        keep_request(state, request, body)
        params, info = validate(
            state, body, count_tokens=False, betas=request.headers.get(HEADER_BETA)
        )
        return await answer(request, state, key_id, params, info, flavour=BEDROCK_MESSAGES)
    except ErrorAnswer as exc:
        state.stats.endpoint(BEDROCK_MESSAGES.endpoint, **{f"errors_{exc.status}": 1})
        state.stats.error(exc.status)
        return _messages_error(request, exc)


async def messages_count_tokens(request: web.Request) -> web.Response:
    """``POST /anthropic/v1/messages/count_tokens`` on Bedrock."""
    state = request.app[STATE_KEY]
    state.stats.endpoint(BEDROCK_MESSAGES.endpoint, requests=1, count_tokens=1, messages_api=1)
    try:
        raw = await read_body(request, state.config.max_request_bytes)
        _authenticate(request, state, raw, _MESSAGES_SIGNING_NAMES)
        body, _ = _messages_body(request, raw)
        params, _ = validate(state, body, count_tokens=True, betas=request.headers.get(HEADER_BETA))
    except ErrorAnswer as exc:
        state.stats.endpoint(BEDROCK_MESSAGES.endpoint, **{f"errors_{exc.status}": 1})
        state.stats.error(exc.status)
        return _messages_error(request, exc)
    rid = request_id(request)
    return json_response({"input_tokens": count_request(params)}, rid, {"x-amzn-RequestId": rid})


def add_bedrock_routes(app: web.Application) -> None:
    state = app[STATE_KEY]
    app[MODELS_KEY] = PlatformModels(state.catalog)
    # ".+": an inference-profile ARN arrives with its "/" encoded, and is one ID
    app.router.add_post("/model/{model_id:.+}/invoke", invoke)
    app.router.add_post("/model/{model_id:.+}/invoke-with-response-stream", invoke)
    app.router.add_post("/model/{model_id:.+}/count-tokens", count_tokens)
    app.router.add_post("/anthropic/v1/messages", messages)
    app.router.add_post("/anthropic/v1/messages/count_tokens", messages_count_tokens)
