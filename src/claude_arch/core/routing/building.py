"""Build a :class:`Router` from a policy and a classifier kind, as the CLI and the service do.

>>> router = build_router("default", "rules")
>>> router.classifier is None, router.policy.name
(True, 'default')
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from claude_arch.core.routing.breakers.local import CircuitBreaker
from claude_arch.core.routing.classifiers.base import Classifier
from claude_arch.core.routing.policy import CLASSIFIER_KINDS, Policy, load_policy
from claude_arch.core.routing.router import Router
from claude_arch.errors import ConfigError

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.settings import Settings

__all__ = ["SHIPPED_EMBEDDING_MODEL", "build_classifier", "build_router", "router_for"]

SHIPPED_EMBEDDING_MODEL = "default-embedding.json"
"""The embedding model fitted on ``bench/data/routing/train.jsonl`` for the default policy."""


def _model_file(policy: Policy, model_file: str | Path | None) -> Path:
    chosen = model_file or policy.classifier.options.get("model_file")
    if chosen:
        return Path(str(chosen))
    if policy.name != "default":
        raise ConfigError(
            f"policy {policy.name!r}: the embedding classifier needs classifier.model_file "
            "(fit one with: claude-arch route fit TRAIN.jsonl --policy P --out FILE)"
        )
    with resources.as_file(
        resources.files(__package__).joinpath("policies").joinpath(SHIPPED_EMBEDDING_MODEL)
    ) as path:
        return Path(path)


def build_classifier(
    policy: Policy,
    kind: str | None = None,
    *,
    client: ClaudeClient | SyncClaudeClient | None = None,
    model_file: str | Path | None = None,
) -> Classifier | None:
    """The classifier behind the rules: ``kind`` (default: the policy's), or None for ``rules``.
    ``llm`` needs a ``client``; ``embedding`` a fitted model file (the default policy ships one)."""
    kind = kind or policy.classifier.kind
    if kind not in CLASSIFIER_KINDS:
        raise ConfigError(f"classifier: {kind!r} is not one of {', '.join(CLASSIFIER_KINDS)}")
    if kind == "rules":
        return None
    if kind == "llm":
        if client is None:
            raise ConfigError("classifier llm: pass a ClaudeClient or SyncClaudeClient")
        from claude_arch.core.routing.classifiers.llm import LLMClassifier

        return LLMClassifier(policy, client)
    from claude_arch.core.routing.classifiers.embedding import EmbeddingClassifier, EmbeddingModel

    model = EmbeddingModel.load(_model_file(policy, model_file))
    if model.tiers != list(policy.tier_names):
        raise ConfigError(
            f"{model_file}: fitted for tiers {model.tiers}, the policy has "
            f"{list(policy.tier_names)}"
        )
    risk = policy.classifier.options.get("max_under_risk")
    if risk is not None:
        model.max_under_risk = float(risk)
    return EmbeddingClassifier(model)


def build_router(
    policy: Policy | str | Path = "default",
    kind: str | None = None,
    *,
    client: ClaudeClient | SyncClaudeClient | None = None,
    model_file: str | Path | None = None,
    breaker: CircuitBreaker | None = None,
) -> Router:
    """A router for ``policy`` (a :class:`Policy`, a file, or a shipped name)."""
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    classifier = build_classifier(policy, kind, client=client, model_file=model_file)
    return Router(policy, classifier=classifier, breaker=breaker)


def router_for(
    policy: str,
    classifier: str,
    settings: Settings,
    *,
    fallbacks: dict[str, list[str]] | None = None,
) -> Router:
    """The router a variant runs ``model: "auto"`` with: ``policy`` (a shipped name, or a file
    followed as it is edited: a broken edit keeps the last good policy), the ``classifier``
    behind its rules (``llm`` asks through an async client of its own on the settings'
    upstream, without a router), a circuit breaker per model in this process, or shared through
    Redis when ``settings.redis_url`` is set (written in the background, read from a view
    refreshed every second).

    The router owns that client and that Redis pool: close it (``await router.aclose()``, or
    ``async with``) when done with it, after the clients that route with it."""
    from claude_arch.core.routing.watcher import PolicyWatcher

    watcher = PolicyWatcher(policy) if Path(policy).is_file() else None
    loaded = watcher.current() if watcher is not None else load_policy(policy)
    client = None
    if classifier == "llm":
        from claude_arch.core.client import ClaudeClient

        client = ClaudeClient(settings, fallbacks=fallbacks)
    chosen = build_classifier(loaded, classifier, client=client)
    breaker: CircuitBreaker | None = None
    if settings.redis_url:
        from claude_arch.core.routing.breakers.shared import AsyncRedisBreaker

        breaker = AsyncRedisBreaker(settings.redis_url)
    owns = [made for made in (client, breaker) if made is not None]
    return Router(loaded, classifier=chosen, watcher=watcher, breaker=breaker, owns=owns)
