"""What the Bedrock and Vertex transports share: reading the client's Messages API request,
turning a platform's error answer into the Anthropic shape, and the inner transport that carries
the rewritten requests.

A subclass names its platform (``platform``, for messages) and maps catalog models to its own
IDs (``platform_model``); :meth:`PlatformTransport.parse` then hands it the request's params
without ``model``, the platform's model ID and whether the request counts tokens, or the error
answer to give instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from claude_arch.core.platforms.responses import BufferedResponse, lower_headers
from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest
from claude_arch.errors import ClaudeArchError

__all__ = ["ErrorMapper", "ParsedRequest", "PlatformTransport", "error_answer"]

ErrorMapper = Callable[[int, Mapping[str, str], bytes], tuple[int, dict[str, Any], dict[str, str]]]
"""A platform's error answer (status, headers, body) as status, Anthropic body, extra headers."""


def error_answer(status: int, message: str) -> BufferedResponse:
    """An answer in the Anthropic error shape, decided here without calling the platform."""
    kind = "not_found_error" if status == 404 else "invalid_request_error"
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return BufferedResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())


@dataclass(slots=True)
class ParsedRequest:
    """A Messages API request as a platform call needs it."""

    params: dict[str, Any]
    """The body without ``model``."""
    model: str
    """The platform's model ID."""
    counting: bool
    """``/v1/messages/count_tokens`` rather than ``/v1/messages``."""


class PlatformTransport:
    """Base of the platform transports; ``transport`` (default aiohttp) carries their requests
    and is closed with them."""

    platform = "the platform"

    def __init__(self, transport: AsyncTransport | None = None) -> None:
        self._transport = transport

    def platform_model(self, model: str) -> str:
        """The platform's ID for the catalog model (or platform ID) ``model``."""
        raise NotImplementedError

    def _inner(self) -> AsyncTransport:
        if self._transport is None:
            from claude_arch.core.transports.aiohttp_transport import AiohttpTransport

            self._transport = AiohttpTransport()
        return self._transport

    def parse(self, request: WireRequest) -> ParsedRequest | BufferedResponse:
        """The request's params, model and kind, or the 400/404 answer that refuses it."""
        path = urlsplit(request.url).path
        if request.method != "POST" or not path.endswith(("/v1/messages", "/count_tokens")):
            return error_answer(
                400, f"{request.method} {path[-60:]}: not an API of {self.platform}"
            )
        try:
            params: Any = json.loads(request.body or b"")
            if not isinstance(params, dict) or not isinstance(params.get("model"), str):
                return error_answer(400, f"model: a request to {self.platform} needs a model")
            model = self.platform_model(params.pop("model"))
        except ClaudeArchError as exc:
            return error_answer(exc.status, exc.message)
        except ValueError:
            return error_answer(400, "body: invalid JSON")
        return ParsedRequest(params, model, path.endswith("/v1/messages/count_tokens"))

    @staticmethod
    async def failed(response: AsyncResponse, mapper: ErrorMapper) -> BufferedResponse:
        """A platform's error answer in the Anthropic shape (``mapper`` reads its body)."""
        raw = await response.read()
        headers = lower_headers(response.headers)
        status, error, extra = mapper(response.status, headers, raw)
        merged = {**headers, **extra, "content-type": "application/json"}
        return BufferedResponse(status, merged, json.dumps(error).encode())

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
