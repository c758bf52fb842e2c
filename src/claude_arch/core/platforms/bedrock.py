"""Claude on Amazon Bedrock behind the transport boundary: the client keeps speaking the
Messages API, this transport speaks Bedrock's.

Bedrock serves a model on one of two APIs, as the catalog's ``bedrock_api`` says:

- ``invoke`` (up to Opus 4.6, and Haiku 4.5): a request aimed at ``…/v1/messages`` becomes
  ``POST /model/{id}/invoke`` (``/invoke-with-response-stream`` when the body streams): the
  model moves from the body into the path (the catalog's Bedrock ID behind the
  inference-profile prefix), ``anthropic_version: "bedrock-2023-05-31"`` and the
  ``anthropic-beta`` header's list go into the body; ``…/v1/messages/count_tokens`` becomes
  Bedrock's CountTokens; event streams come back as SSE;
- ``messages`` (Opus 4.7 and later): Bedrock's Messages endpoint,
  ``POST /anthropic/v1/messages`` (and ``…/count_tokens``) on the same host: the Messages API
  itself, the model in the body as its Bedrock ID (profile prefix included), the
  ``anthropic-version`` and ``anthropic-beta`` headers kept, SSE streams passed through.

Either way the Anthropic key goes and a SigV4 signature comes (service ``bedrock``;
``bedrock-mantle`` on a ``bedrock-mantle.…`` host); errors come back as
:mod:`.platform_errors` maps them, ``x-amzn-RequestId`` as ``request-id``.

    transport = BedrockTransport(region="us-east-1")     # credentials: the standard chain
    client = ClaudeClient(api_key="unused", base_url="https://bedrock.invalid",
                          transport=transport)
    message = await client.create(model="claude-haiku-4-5", max_tokens=200, messages=[...])

Batches and the models list are not Bedrock APIs: those paths answer 400 naming the platform.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from claude_arch.constants import API_VERSION_0X, HEADER_BETA, HEADER_VERSION
from claude_arch.core.platforms.aws_credentials import (
    AwsCredentialChain,
    AwsCredentialSource,
    aws_region,
)
from claude_arch.core.platforms.model_ids import INFERENCE_PROFILES, PlatformModels
from claude_arch.core.platforms.platform_errors import bedrock_error
from claude_arch.core.platforms.platform_transport import (
    ParsedRequest,
    PlatformTransport,
    error_answer,
)
from claude_arch.core.platforms.responses import (
    BufferedResponse,
    EventStreamAsSSE,
    RelabelledResponse,
    lower_headers,
)
from claude_arch.core.platforms.sigv4 import AwsCredentials, sign
from claude_arch.core.pricing.catalog import Catalog, Placement, default_catalog, endpoint_kind
from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest
from claude_arch.errors import ConfigError

__all__ = ["BEDROCK_VERSION", "BedrockTransport"]

BEDROCK_VERSION = "bedrock-2023-05-31"
SIGNING_NAME = "bedrock"
MANTLE_SIGNING_NAME = "bedrock-mantle"
MESSAGES_PATH = "/anthropic/v1/messages"
"""Bedrock's Messages endpoint, on the runtime host (and on ``bedrock-mantle.<region>.api.aws``)."""
_EVENTSTREAM = "application/vnd.amazon.eventstream"
_SSE = "text/event-stream"


def _is_bedrock_id(model: str) -> bool:
    prefix = model.partition(".")[0]
    return model.startswith(("anthropic.", "arn:")) or (
        prefix in INFERENCE_PROFILES and ".anthropic." in model
    )


class BedrockTransport(PlatformTransport):
    """An :class:`~claude_arch.core.transports.base.AsyncTransport` to Amazon Bedrock.

    ``inference_profile``: the geography prefix models are called through (``global``, ``us``,
    ``eu``, ``apac``, ``jp``, ``au``), or None for the in-region base ID. ``model_ids`` names
    Bedrock IDs for catalog models the catalog has none for. ``messages_base_url``: where the
    Messages endpoint is (default ``base_url``; ``https://bedrock-mantle.<region>.api.aws`` for
    the bedrock-mantle endpoint, with ``inference_profile=None``: it takes no prefix).
    ``transport`` (default aiohttp) carries the signed requests and is closed with this one.
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        credentials: AwsCredentialSource | None = None,
        profile: str | None = None,
        base_url: str | None = None,
        inference_profile: str | None = "global",
        model_ids: Mapping[str, str] | None = None,
        catalog: Catalog | None = None,
        transport: AsyncTransport | None = None,
        messages_base_url: str | None = None,
    ) -> None:
        self.region = aws_region(region)
        if inference_profile is not None and inference_profile not in INFERENCE_PROFILES:
            known = ", ".join(INFERENCE_PROFILES)
            raise ConfigError(
                f"Bedrock inference profile {inference_profile!r}: use one of {known}"
            )
        self.inference_profile = inference_profile
        self.base_url = (base_url or f"https://bedrock-runtime.{self.region}.amazonaws.com").rstrip(
            "/"
        )
        self.messages_base_url = (messages_base_url or self.base_url).rstrip("/")
        mantle = urlsplit(self.messages_base_url).hostname or ""
        self._messages_signing = (
            MANTLE_SIGNING_NAME if mantle.startswith("bedrock-mantle.") else SIGNING_NAME
        )
        self._credentials = credentials or AwsCredentialChain(profile=profile)
        self._models = PlatformModels(catalog or default_catalog(), bedrock_overrides=model_ids)
        super().__init__(transport)

    platform = "Amazon Bedrock"

    def __repr__(self) -> str:
        return f"BedrockTransport({self.region}, {self.base_url})"

    @property
    def placement(self) -> Placement:
        """Where this transport's calls run, for pricing: the ``global.`` profile is Bedrock's
        global endpoint; any other profile, or none, a regional one (10% dearer)."""
        return Placement("bedrock", {"bedrock": endpoint_kind(self.inference_profile)})

    async def check(self) -> None:
        """Resolve the credentials now (at start-up), so a missing one fails before traffic."""
        await self._credentials.get()

    def platform_model(self, model: str) -> str:
        """The Bedrock model ID a request for ``model`` calls."""
        if _is_bedrock_id(model):
            return model
        return self._models.bedrock(model, profile=self.inference_profile)

    async def send(self, request: WireRequest) -> AsyncResponse:
        parsed = self.parse(request)
        if isinstance(parsed, BufferedResponse):
            return parsed
        credentials = await self._credentials.get()
        if self._models.bedrock_api(parsed.model) == "messages":
            return await self._send_messages(request, parsed, credentials)
        params, model_id, counting = parsed.params, parsed.model, parsed.counting
        streaming = bool(params.pop("stream", False)) and not counting
        params.setdefault("anthropic_version", BEDROCK_VERSION)
        betas = request.headers.get(HEADER_BETA)
        if betas:
            params.setdefault("anthropic_beta", [b.strip() for b in betas.split(",") if b.strip()])
        body = json.dumps(params, separators=(",", ":")).encode()
        action = "invoke-with-response-stream" if streaming else "invoke"
        if counting:
            action = "count-tokens"
            wrapped = {"input": {"invokeModel": {"body": base64.b64encode(body).decode()}}}
            body = json.dumps(wrapped, separators=(",", ":")).encode()
        url = f"{self.base_url}/model/{quote(model_id, safe=':')}/{action}"
        headers = {
            "content-type": "application/json",
            "accept": _EVENTSTREAM if streaming else "application/json",
            "user-agent": request.headers.get("user-agent", "claude-arch"),
        }
        signed = sign(
            "POST",
            url,
            headers,
            body,
            credentials=credentials,
            region=self.region,
            service=SIGNING_NAME,
        )
        wire = WireRequest("POST", url, signed, body, request.timeout, request.connect_timeout)
        response = await self._inner().send(wire)
        if response.status >= 300:
            return await self.failed(response, bedrock_error)
        if counting:
            raw = await response.read()
            try:
                tokens = int(json.loads(raw)["inputTokens"])
            except (ValueError, KeyError, TypeError):
                return error_answer(502, "Bedrock CountTokens answered without inputTokens")
            counted = json.dumps({"input_tokens": tokens}).encode()
            return BufferedResponse(200, response.headers, counted)
        if streaming:
            return EventStreamAsSSE(response)
        return RelabelledResponse(response, lower_headers(response.headers))

    async def _send_messages(
        self, request: WireRequest, parsed: ParsedRequest, credentials: AwsCredentials
    ) -> AsyncResponse:
        """The request on Bedrock's Messages endpoint: the Messages API, signed."""
        params, counting = parsed.params, parsed.counting
        path = f"{MESSAGES_PATH}/count_tokens" if counting else MESSAGES_PATH
        url = self.messages_base_url + path
        body = json.dumps({"model": parsed.model, **params}, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "accept": _SSE if params.get("stream") and not counting else "application/json",
            HEADER_VERSION: request.headers.get(HEADER_VERSION, API_VERSION_0X),
            "user-agent": request.headers.get("user-agent", "claude-arch"),
        }
        betas = request.headers.get(HEADER_BETA)
        if betas:
            headers[HEADER_BETA] = betas
        signed = sign(
            "POST",
            url,
            headers,
            body,
            credentials=credentials,
            region=self.region,
            service=self._messages_signing,
        )
        wire = WireRequest("POST", url, signed, body, request.timeout, request.connect_timeout)
        response = await self._inner().send(wire)
        if response.status >= 300:
            return await self.failed(response, bedrock_error)
        return RelabelledResponse(response, lower_headers(response.headers))
