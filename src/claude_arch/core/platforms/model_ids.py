"""Model IDs on the cloud platforms, from the catalog's ``bedrock`` and ``vertex`` fields.

Bedrock names a model by a base ID (``anthropic.claude-sonnet-4-5-20250929-v1:0``), usually
called through a cross-region inference profile: the base ID behind a geography prefix
(``global.``, ``us.``, ``eu.``, ``apac.``, ``jp.``, ``au.``), or an inference-profile ARN.
Vertex names it ``claude-sonnet-4-5@20250929`` (newer models: ``claude-sonnet-4-6``). Bedrock
serves the newest models (the catalog's ``bedrock_api = "messages"``) on its Messages endpoint
rather than InvokeModel; :meth:`PlatformModels.bedrock_api` says which.

    >>> from claude_arch.core.pricing.catalog import default_catalog
    >>> ids = PlatformModels(default_catalog())
    >>> ids.bedrock("claude-haiku-4-5", profile="global")
    'global.anthropic.claude-haiku-4-5-20251001-v1:0'
    >>> arn = "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-sonnet-4-6"
    >>> ids.from_bedrock(arn).id
    'claude-sonnet-4-6'
    >>> ids.vertex("claude-sonnet-4-5-20250929"), ids.from_vertex("claude-haiku-4-5@20251001").id
    ('claude-sonnet-4-5@20250929', 'claude-haiku-4-5')
    >>> ids.bedrock("claude-opus-5-5", profile="eu")
    'eu.anthropic.claude-opus-5-5'
    >>> ids.bedrock_api("eu.anthropic.claude-opus-5-5"), ids.bedrock_api(arn)
    ('messages', 'invoke')
"""

from __future__ import annotations

from collections.abc import Mapping

from claude_arch.core.pricing.catalog import Catalog, ModelInfo
from claude_arch.errors import UnknownModelError

__all__ = ["INFERENCE_PROFILES", "PlatformModels"]

INFERENCE_PROFILES = ("global", "us", "us-gov", "eu", "apac", "jp", "au", "ca")
"""Geography prefixes of Bedrock's system-defined cross-region inference profiles."""


class PlatformModels:
    """Catalog models ↔ platform IDs. ``overrides`` (catalog ID or alias → platform ID) name
    models the catalog has no ID for on that platform."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        bedrock_overrides: Mapping[str, str] | None = None,
        vertex_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self._catalog = catalog
        self._bedrock = {m.id: m.bedrock_id for m in catalog if m.bedrock_id}
        self._vertex = {m.id: m.vertex_id for m in catalog if m.vertex_id}
        for name, platform_id in (bedrock_overrides or {}).items():
            self._bedrock[catalog.resolve(name).id] = platform_id
        for name, platform_id in (vertex_overrides or {}).items():
            self._vertex[catalog.resolve(name).id] = platform_id
        self._by_bedrock = {base: model for model, base in self._bedrock.items()}
        self._by_vertex = {name: model for model, name in self._vertex.items()}

    def bedrock(self, model: str, *, profile: str | None = None) -> str:
        """The Bedrock model ID to call for ``model`` (an ID or alias of the catalog)."""
        info = self._catalog.resolve(model)
        base = self._bedrock.get(info.id)
        if base is None:
            raise _not_served(info, "Amazon Bedrock", sorted(self._bedrock))
        return f"{profile}.{base}" if profile else base

    def vertex(self, model: str) -> str:
        """The Vertex AI model name to call for ``model`` (an ID or alias of the catalog)."""
        info = self._catalog.resolve(model)
        name = self._vertex.get(info.id)
        if name is None:
            raise _not_served(info, "Google Vertex AI", sorted(self._vertex))
        return name

    def from_bedrock(self, model_id: str) -> ModelInfo | None:
        """The catalog model a Bedrock model ID (base, profile or ARN) stands for, or None."""
        model = self._by_bedrock.get(model_id)  # an ID (an ARN among them) given as an override
        if model is None:
            base = model_id.rpartition("/")[2] if model_id.startswith("arn:") else model_id
            prefix, dot, rest = base.partition(".")
            if dot and prefix in INFERENCE_PROFILES:
                base = rest
            model = self._by_bedrock.get(base)
        return self._catalog.get(model) if model is not None else None

    def bedrock_api(self, model_id: str) -> str:
        """Which Bedrock API serves a Bedrock model ID: the catalog model's ``bedrock_api``
        (``invoke`` for an ID the catalog does not know)."""
        info = self.from_bedrock(model_id)
        return info.bedrock_api if info is not None else "invoke"

    def from_vertex(self, name: str) -> ModelInfo | None:
        """The catalog model a Vertex model name stands for, or None."""
        model = self._by_vertex.get(name)
        return self._catalog.get(model) if model is not None else None


def _not_served(info: ModelInfo, platform: str, served: list[str]) -> UnknownModelError:
    err = UnknownModelError(info.id, served[:3])
    err.message = (
        f"model: {info.id!r} has no {platform} ID in the model catalog; models it names there: "
        f"{', '.join(served) or 'none'} (or give the platform's ID in the platform's model map)"
    )
    err.args = (err.message,)
    return err
