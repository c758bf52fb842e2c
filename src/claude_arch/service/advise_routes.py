"""The advisor behind the web page's "Choose" view: ``POST /v1/advise`` and the view's script.

    curl -s localhost:8080/v1/advise -H 'x-api-key: sk-ca-...' -d @profile.json
    {"recommended": "service", "runner_up": "...", "variants": [...], "plan": {...}}

The body is a workload profile as JSON (the fields of ``examples/profiles/*.yaml``); the answer is
``claude-arch advise --json --plan``'s: every variant scored, the recommendation, and the plan of
the recommended one. A profile that cannot be is a 400 in the Anthropic error shape whose message
starts with the field (``tokens.output.p95: must be at least p50 (350)``). Like every ``/v1``
route it needs a service key, except in loopback dev mode. The model is pure: nothing upstream
is called.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from claude_arch.advisor import advise, default_sources, plan_variant, profile_from_data
from claude_arch.service.http.bodies import read_json
from claude_arch.service.tenancy.auth import key_from_headers

if TYPE_CHECKING:
    from claude_arch.service.gateway import Gateway

__all__ = ["CHOOSE_SCRIPT_PATH", "router"]

CHOOSE_SCRIPT_PATH = "/static/advise/choose.js"
_SCRIPT_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}

router = APIRouter()


@router.post("/v1/advise", summary="Recommend a variant for a workload profile")
async def advise_profile(request: Request) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    key = await gateway.authenticate(key_from_headers(request.headers))
    request.state.key_id = key.id
    data = await read_json(request, limit=gateway.settings.max_body_bytes)
    sources = default_sources()
    profile = profile_from_data(data, sources)  # ProfileError: a 400 naming the field
    advice = advise(profile, sources)
    plan = plan_variant(profile, sources, advice.recommended)
    return {**advice.to_dict(), "plan": plan.to_dict()}


@router.get(CHOOSE_SCRIPT_PATH, include_in_schema=False)
async def choose_script() -> Response:
    return Response(_script(), media_type="text/javascript; charset=utf-8", headers=_SCRIPT_HEADERS)


@functools.cache
def _script() -> bytes:
    return (resources.files("claude_arch.service") / "web" / "choose.js").read_bytes()
