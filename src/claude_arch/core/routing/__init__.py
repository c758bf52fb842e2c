"""Routing: send each request to the cheapest model tier that can do it, and keep serving when a
model is down.

    from claude_arch.core.routing import build_router

    router = build_router("default")                  # a shipped policy, the rules classifier
    decision = router.decide(params)                  # tier, model, reason, classifier, cost
    for model in router.chain(decision, params):      # the fallback chain, open breakers skipped
        ...

Modules: ``policy`` (YAML tiers and rules, validated with file and line), ``features`` and
``conditions`` (what rules look at), ``router`` (decide, chain, fallback errors), ``watcher``
(hot reload), ``building`` (router from a policy and a classifier kind); ``classifiers/``
(``rules``, ``llm`` + ``llm_prompt`` + ``decision_cache``, ``embedding`` + ``minilm``,
``cascade``), ``breakers/`` (``local``, ``redis``, ``shared``), ``evaluation/`` (``dataset``,
``scoring``, ``commands``: ``claude-arch route``). The client-bound modules
(``cascade``, ``llm_classifier``) and the embedding ones are imported on use. A client given a
router (``ClaudeClient(router=...)``) routes ``model: "auto"`` and walks the chain itself; a
router built by ``router_for`` owns what it made (the ``llm`` classifier's client, a Redis
breaker's pool): ``await router.aclose()`` (or ``async with router``) closes them, and so does
closing a client made with ``owns_router=True``.
"""

from __future__ import annotations

from claude_arch.core.routing.breakers.local import BreakerState, CircuitBreaker, LocalBreaker
from claude_arch.core.routing.building import build_classifier, build_router
from claude_arch.core.routing.classifiers.base import Classifier
from claude_arch.core.routing.classifiers.rules import RulesClassifier
from claude_arch.core.routing.decision import Decision, Verdict
from claude_arch.core.routing.errors import DatasetError, PolicyError
from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy, Rule, Tier, load_policy, shipped_policy
from claude_arch.core.routing.router import FALLBACK_ERRORS, Router, is_fallback_error
from claude_arch.core.routing.watcher import PolicyWatcher

__all__ = [
    "FALLBACK_ERRORS",
    "BreakerState",
    "CircuitBreaker",
    "Classifier",
    "DatasetError",
    "Decision",
    "Features",
    "LocalBreaker",
    "Policy",
    "PolicyError",
    "PolicyWatcher",
    "Router",
    "Rule",
    "RulesClassifier",
    "Tier",
    "Verdict",
    "build_classifier",
    "build_router",
    "is_fallback_error",
    "load_policy",
    "shipped_policy",
]
