"""``/_emulator/…``: change faults and rules at run time, read statistics, reset.

GET  /_emulator/faults          {"faults": [...]}
PUT  /_emulator/faults          {"faults": [{"kind": "529", "model": "*", "probability": 0.1}]}
GET  /_emulator/rules           {"rules": [...]}
PUT  /_emulator/rules           {"rules": [...]}        (replaces)
POST /_emulator/rules           {"match": ..., "reply": ...}   (appends one)
GET  /_emulator/stats           requests, tokens, faults, 429s, streams — by model and key
POST /_emulator/reset           forget stats, cached prompts and limit usage
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from claude_arch.emulator.answers.rules import parse_rules
from claude_arch.emulator.config import FaultSpec, RuleSpec
from claude_arch.emulator.request_io import (
    ErrorAnswer,
    json_response,
    read_json,
    request_id,
    require_key,
)
from claude_arch.emulator.routes.messages import STATE_KEY
from claude_arch.errors import ClaudeArchError

__all__ = ["add_control_routes"]

_CONTROL_BODY_LIMIT = 8 * 1024 * 1024


def _bad(exc: ValidationError) -> ErrorAnswer:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return ErrorAnswer(400, "invalid_request_error", f"{where}: {first['msg']}")


async def _body(request: web.Request) -> Any:
    require_key(request, request.app[STATE_KEY].allowed_keys)
    return await read_json(request, _CONTROL_BODY_LIMIT)


async def get_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    faults = [f.model_dump() for f in state.faults.specs]
    return json_response({"faults": faults}, request_id(request))


async def put_faults(request: web.Request) -> web.Response:
    body = await _body(request)
    items = body.get("faults") if isinstance(body, dict) else body
    seed = body.get("seed") if isinstance(body, dict) else None
    if not isinstance(items, list) or not (seed is None or isinstance(seed, int)):
        raise ErrorAnswer(400, "invalid_request_error", "faults: expected a list (and an int seed)")
    try:
        specs = [FaultSpec.model_validate(item) for item in items]
    except ValidationError as exc:
        raise _bad(exc) from None
    request.app[STATE_KEY].faults.replace(specs, seed=seed)
    return json_response({"faults": [f.model_dump() for f in specs]}, request_id(request))


async def get_rules(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    return json_response({"rules": state.rules.dump()}, request_id(request))


async def put_rules(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        specs = parse_rules(body)
        request.app[STATE_KEY].rules.replace(specs)
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None
    return json_response({"rules": len(specs)}, request_id(request))


async def add_rule(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        request.app[STATE_KEY].rules.add(RuleSpec.model_validate(body))
    except ValidationError as exc:
        raise _bad(exc) from None
    except ClaudeArchError as exc:
        raise ErrorAnswer.of(exc) from None
    return json_response({"rules": len(request.app[STATE_KEY].rules)}, request_id(request))


async def get_stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    return json_response(state.stats.snapshot(), request_id(request))


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    require_key(request, state.allowed_keys)
    state.reset()
    return json_response({"reset": True}, request_id(request))


def add_control_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/faults", get_faults)
    app.router.add_put("/_emulator/faults", put_faults)
    app.router.add_get("/_emulator/rules", get_rules)
    app.router.add_put("/_emulator/rules", put_rules)
    app.router.add_post("/_emulator/rules", add_rule)
    app.router.add_get("/_emulator/stats", get_stats)
    app.router.add_post("/_emulator/reset", reset)
