"""Google Vertex AI's API for Claude: rawPredict, streamRawPredict and count-tokens.

    POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
    POST …/models/{model}:streamRawPredict     the Messages body without model, with
                                               anthropic_version; the stream is SSE
    POST …/models/count-tokens:rawPredict      the count_tokens body, model included

``model`` is a catalog model's Vertex name (``claude-sonnet-4-5@20250929``). The bearer token
must be one of ``vertex_tokens`` (else 401 UNAUTHENTICATED) and the project one of
``vertex_projects`` when that is set (else 403 PERMISSION_DENIED). Vertex's own errors (auth,
an unknown model, quota: 429 RESOURCE_EXHAUSTED) have Google's shape
``{"error": {"code", "message", "status"}}``; the model's errors pass through in the Anthropic
shape, as on Vertex. The reply is the Anthropic routes' own
(:func:`claude_arch.emulator.routes.messages.answer`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from claude_arch.constants import API_VERSION_2X, HEADER_AUTHORIZATION, HEADER_BETA
from claude_arch.core.platforms.model_ids import PlatformModels
from claude_arch.core.pricing.catalog import ModelInfo
from claude_arch.core.tokens import count_request
from claude_arch.emulator.ids import short_hash
from claude_arch.emulator.request_io import (
    ErrorAnswer,
    error_response,
    json_response,
    read_json,
    request_id,
    require_object,
)
from claude_arch.emulator.routes.messages import STATE_KEY, Flavour, answer, keep_request, validate

__all__ = ["VERTEX", "add_vertex_routes"]

VERTEX_VERSIONS = frozenset({"vertex-2023-10-16", API_VERSION_2X})
"""What ``anthropic_version`` may say: Vertex's own, and what the 2.x SDK sends there."""
_REGION = re.compile(r"^(global|us|eu|[a-z]+-[a-z]+\d{1,2})$")
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}
_NO_CREDENTIAL_TEXT = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_BAD_CREDENTIAL_TEXT = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)

VERTEX = Flavour("vertex", id_prefix="msg_vrtx_", ratelimit_headers=False)
MODELS_KEY = web.AppKey("vertex_models", PlatformModels)


class GoogleError(ErrorAnswer):
    """An error of Vertex itself, answered in Google's shape."""


def _google(status: int, message: str) -> GoogleError:
    return GoogleError(status, "api_error", message, code=_GOOGLE_STATUS.get(status, "INTERNAL"))


def _error_response(request: web.Request, exc: ErrorAnswer) -> web.Response:
    if isinstance(exc, GoogleError) or exc.code == "RESOURCE_EXHAUSTED" or exc.status == 429:
        code = exc.code or _GOOGLE_STATUS.get(exc.status, "INTERNAL")
        body = {"error": {"code": exc.status, "message": exc.message, "status": code}}
        return web.Response(
            status=exc.status, body=json.dumps(body).encode(), content_type="application/json"
        )
    # The model's own errors come through Vertex in the Anthropic shape.
    return error_response(exc.status, exc.error_type, exc.message, request_id(request), exc.headers)


def _authenticate(request: web.Request, project: str) -> str:
    state = request.app[STATE_KEY]
    auth = request.headers.get(HEADER_AUTHORIZATION, "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not token:
        raise _google(401, _NO_CREDENTIAL_TEXT)
    if token not in state.config.vertex_tokens:
        raise _google(401, _BAD_CREDENTIAL_TEXT)
    allowed = state.config.vertex_projects
    if allowed and project not in allowed:
        raise _google(
            403,
            f"Permission 'aiplatform.endpoints.predict' denied on resource "
            f"'//aiplatform.googleapis.com/projects/{project[:64]}' (or it may not exist).",
        )
    return short_hash(token)


def _model(request: web.Request, name: str) -> ModelInfo:
    info = request.app[MODELS_KEY].from_vertex(name)
    if info is None:
        where = request.path.split("/v1/", 1)[1].rsplit(":", 1)[0]
        raise _google(
            404,
            f"Publisher Model `{where[:200]}` was not found or your project "
            "does not have access to it.",
        )
    return info


def _version(body: dict[str, Any]) -> None:
    version = body.pop("anthropic_version", None)
    if version not in VERTEX_VERSIONS:
        said = "missing" if version is None else repr(str(version)[:40])
        raise ErrorAnswer(
            400,
            "invalid_request_error",
            f'anthropic_version: {said}; Vertex AI expects "vertex-2023-10-16"',
        )


async def predict(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    state.stats.endpoint(VERTEX.endpoint, requests=1)
    try:
        project, region = request.match_info["project"], request.match_info["region"]
        key_id = _authenticate(request, project)
        if not _REGION.match(region):
            raise _google(400, f"Unsupported region: {region[:40]!r}")
        name, _, action = request.match_info["model_action"].rpartition(":")
        if action not in ("rawPredict", "streamRawPredict") or not name:
            raise _google(404, f"Method not found: {action[:40]!r}")
        body = require_object(await read_json(request, state.config.max_request_bytes))
        if name == "count-tokens":
            return await _count(request, body, action)
        info = _model(request, name)
        if "model" in body:
            raise ErrorAnswer(
                400,
                "invalid_request_error",
                "model: Extra inputs are not permitted (Vertex AI takes the model from the URL)",
            )
        _version(body)
        keep_request(state, request, body)
        params, info = validate(
            state,
            {**body, "model": info.id},
            count_tokens=False,
            betas=request.headers.get(HEADER_BETA),
        )
        return await answer(request, state, key_id, params, info, flavour=VERTEX)
    except ErrorAnswer as exc:
        state.stats.endpoint(VERTEX.endpoint, **{f"errors_{exc.status}": 1})
        state.stats.error(exc.status)
        return _error_response(request, exc)


async def _count(request: web.Request, body: dict[str, Any], action: str) -> web.Response:
    state = request.app[STATE_KEY]
    if action != "rawPredict":
        raise _google(404, "count-tokens is served by :rawPredict")
    state.stats.endpoint(VERTEX.endpoint, count_tokens=1)
    model = body.get("model")
    info = request.app[MODELS_KEY].from_vertex(model) if isinstance(model, str) else None
    _version(body)
    if info is not None:  # a Vertex name; a catalog ID is validated as it is
        body = {**body, "model": info.id}
    params, _ = validate(state, body, count_tokens=True, betas=request.headers.get(HEADER_BETA))
    return json_response({"input_tokens": count_request(params)}, request_id(request))


def add_vertex_routes(app: web.Application) -> None:
    app[MODELS_KEY] = PlatformModels(app[STATE_KEY].catalog)
    app.router.add_post(
        "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model_action}",
        predict,
    )
