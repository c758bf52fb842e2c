"""Claude on Google Vertex AI behind the transport boundary: the client keeps speaking the
Messages API, this transport speaks ``rawPredict``.

A request aimed at ``…/v1/messages`` becomes
``POST {base}/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict``
(``:streamRawPredict`` when the body streams; the stream is the Messages API's SSE): the model
moves from the body into the path (the catalog's Vertex name), ``anthropic_version:
"vertex-2023-10-16"`` goes into the body, the Anthropic key goes and a bearer token (static, or
Application Default Credentials, refreshed) comes. ``…/v1/messages/count_tokens`` becomes
``…/models/count-tokens:rawPredict``. Vertex's own errors come back in the Anthropic shape
(:mod:`.platform_errors`).

    transport = VertexTransport(project="my-project", region="global")   # ADC
    client = ClaudeClient(api_key="unused", base_url="https://vertex.invalid",
                          transport=transport)

Batches and the models list are not served here: those paths answer 400 naming the platform.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from urllib.parse import quote

from claude_arch.constants import HEADER_BETA
from claude_arch.core.platforms.google_credentials import AdcTokenSource, GoogleTokenSource
from claude_arch.core.platforms.model_ids import PlatformModels
from claude_arch.core.platforms.platform_errors import vertex_error
from claude_arch.core.platforms.platform_transport import PlatformTransport
from claude_arch.core.platforms.responses import BufferedResponse, RelabelledResponse, lower_headers
from claude_arch.core.pricing.catalog import Catalog, Placement, default_catalog, endpoint_kind
from claude_arch.core.transports.base import AsyncResponse, AsyncTransport, WireRequest
from claude_arch.errors import ConfigError

__all__ = ["VERTEX_VERSION", "VertexTransport", "vertex_base_url"]

VERTEX_VERSION = "vertex-2023-10-16"
ENV_PROJECTS = ("ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT")
ENV_REGION = "CLOUD_ML_REGION"
_REGION = re.compile(r"^(global|us|eu|[a-z]+-[a-z]+\d{1,2})$")


def vertex_base_url(region: str) -> str:
    """The Vertex AI endpoint of ``region`` (``global``, the ``us``/``eu`` multi-regions, or
    one region).

    >>> vertex_base_url("global"), vertex_base_url("europe-west1")
    ('https://aiplatform.googleapis.com/v1', 'https://europe-west1-aiplatform.googleapis.com/v1')
    """
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    if region in ("us", "eu"):
        return f"https://aiplatform.{region}.rep.googleapis.com/v1"
    return f"https://{region}-aiplatform.googleapis.com/v1"


class VertexTransport(PlatformTransport):
    """An :class:`~claude_arch.core.transports.base.AsyncTransport` to Google Vertex AI.

    ``project`` defaults to ``ANTHROPIC_VERTEX_PROJECT_ID``, ``GOOGLE_CLOUD_PROJECT``, then the
    credentials' own project; ``region`` to ``CLOUD_ML_REGION``. ``access_token`` is a static
    token (else ``tokens``, else Application Default Credentials). ``transport`` (default
    aiohttp) carries the requests and is closed with this one.
    """

    def __init__(
        self,
        *,
        project: str | None = None,
        region: str | None = None,
        access_token: str | None = None,
        tokens: GoogleTokenSource | None = None,
        base_url: str | None = None,
        model_ids: Mapping[str, str] | None = None,
        catalog: Catalog | None = None,
        transport: AsyncTransport | None = None,
    ) -> None:
        region = region or os.environ.get(ENV_REGION)
        if not region:
            raise ConfigError(f"no Vertex AI region: set {ENV_REGION} (e.g. global, us-east5)")
        if not _REGION.match(region):
            raise ConfigError(
                f"Vertex AI region {region[:40]!r} is not a region name (global, us, eu, us-east5)"
            )
        self.region = region
        self._project = project or next(
            (os.environ[n] for n in ENV_PROJECTS if os.environ.get(n)), None
        )
        self.base_url = (base_url or vertex_base_url(region)).rstrip("/")
        if access_token is not None:
            from claude_arch.core.platforms.google_credentials import StaticToken

            tokens = StaticToken(access_token)
        self._tokens = tokens or AdcTokenSource()
        self._models = PlatformModels(catalog or default_catalog(), vertex_overrides=model_ids)
        super().__init__(transport)

    platform = "Vertex AI"

    def __repr__(self) -> str:
        return f"VertexTransport({self._project}, {self.region}, {self.base_url})"

    @property
    def placement(self) -> Placement:
        """Where this transport's calls run, for pricing: the ``global`` location is Vertex's
        global endpoint; a region or the ``us``/``eu`` multi-regions are regional (10% dearer)."""
        return Placement("vertex", {"vertex": endpoint_kind(self.region)})

    async def project(self) -> str:
        """The project requests go to; ConfigError naming the settings when none is known."""
        if self._project is None:
            self._project = await self._tokens.project()
        if not self._project:
            raise ConfigError(
                "no Vertex AI project: set ANTHROPIC_VERTEX_PROJECT_ID or GOOGLE_CLOUD_PROJECT"
            )
        return self._project

    async def check(self) -> None:
        """Resolve the token and project now (at start-up), so a missing one fails early."""
        await self._tokens.token()
        await self.project()

    def platform_model(self, model: str) -> str:
        """The Vertex model name a request for ``model`` calls (a Vertex name passes as is)."""
        return model if "@" in model else self._models.vertex(model)

    async def send(self, request: WireRequest) -> AsyncResponse:
        parsed = self.parse(request)
        if isinstance(parsed, BufferedResponse):
            return parsed
        params, name, counting = parsed.params, parsed.model, parsed.counting
        params.setdefault("anthropic_version", VERTEX_VERSION)
        base = (
            f"{self.base_url}/projects/{quote(await self.project(), safe='')}"
            f"/locations/{self.region}/publishers/anthropic/models"
        )
        if counting:
            params["model"] = name
            url = f"{base}/count-tokens:rawPredict"
        else:
            action = "streamRawPredict" if params.get("stream") else "rawPredict"
            url = f"{base}/{quote(name, safe='@')}:{action}"
        headers = {
            "authorization": f"Bearer {await self._tokens.token()}",
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": request.headers.get("user-agent", "claude-arch"),
        }
        betas = request.headers.get(HEADER_BETA)
        if betas:
            headers[HEADER_BETA] = betas
        body = json.dumps(params, separators=(",", ":")).encode()
        wire = WireRequest("POST", url, headers, body, request.timeout, request.connect_timeout)
        response = await self._inner().send(wire)
        if response.status >= 300:
            return await self.failed(response, vertex_error)
        return RelabelledResponse(response, lower_headers(response.headers))
