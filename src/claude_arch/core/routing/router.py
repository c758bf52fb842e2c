"""The router: a policy, a classifier behind the rules, and a breaker per model.

    >>> router = Router(shipped_policy())
    >>> d = router.decide({"max_tokens": 64, "messages": [{"role": "user", "content": "Hi!"}]})
    >>> d.tier, d.model, d.reason
    ('fast', 'claude-haiku-5-5', 'rule greeting')
    >>> router.chain(d)[:3]
    ['claude-haiku-5-5', 'claude-haiku-4-5', 'claude-sonnet-5-5']

A client given a router (``ClaudeClient(router=...)``) uses it for ``model: "auto"``: ``decide``
(or ``adecide``) once per request; the attempts then walk ``chain(decision)`` in the client's
own retry loop, telling the router with ``record_success`` or ``record_failure``, and move on
only when ``is_fallback_error(exc)``.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from claude_arch.core.pricing.catalog import Catalog, default_catalog
from claude_arch.core.routing.breakers.local import CircuitBreaker, LocalBreaker
from claude_arch.core.routing.classifiers.base import Classifier
from claude_arch.core.routing.classifiers.rules import RulesClassifier
from claude_arch.core.routing.decision import Decision, Verdict
from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy, shipped_policy
from claude_arch.core.routing.watcher import PolicyWatcher
from claude_arch.errors import (
    APIConnectionError,
    GatewayTimeoutError,
    InternalServerError,
    OverloadedError,
    StreamInterruptedError,
)

__all__ = ["FALLBACK_ERRORS", "Router", "is_fallback_error"]

log = logging.getLogger("claude_arch.routing")

FALLBACK_ERRORS: tuple[type[Exception], ...] = (
    OverloadedError,
    InternalServerError,
    GatewayTimeoutError,
    APIConnectionError,  # APITimeoutError included
    StreamInterruptedError,
)
"""Errors after which the next model of the chain is tried (and the breaker counts a failure)."""


def is_fallback_error(exc: BaseException) -> bool:
    """Whether ``exc`` (529, 5xx, a timeout, a lost connection) should move to the next model."""
    return isinstance(exc, FALLBACK_ERRORS)


class Router:
    """Decide a tier and model per request, and the fallback chain behind it.

    ``classifier`` decides when no rule is at least ``policy.classifier.below_confidence`` sure
    (None: the rules' answer stands); ``breaker`` defaults to a :class:`LocalBreaker`.

    ``owns``: what the router was built with and must close, in :meth:`aclose` (or leaving
    ``async with router:``), such as the ``llm`` classifier's own client and a breaker's Redis
    pool that :func:`~claude_arch.core.routing.building.router_for` made for it. What was passed
    in without being listed there (a client the caller shares) is left open.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        classifier: Classifier | None = None,
        breaker: CircuitBreaker | None = None,
        catalog: Catalog | None = None,
        watcher: PolicyWatcher | None = None,
        owns: Iterable[object] = (),
    ) -> None:
        self.watcher = watcher
        """When set, the policy is its ``current()`` one: an edited file is used from the next
        decision on (a broken edit keeps the last good policy, logged)."""
        self.policy = watcher.current() if watcher is not None else (policy or shipped_policy())
        self.rules = RulesClassifier(self.policy)
        self.classifier = classifier
        self.breaker: CircuitBreaker = breaker or LocalBreaker()
        self.catalog = catalog or default_catalog()
        self._owned: list[object] = list(owns)
        self._orders: dict[str, tuple[tuple[str, int | None], ...]] = {}
        self._orders_of: tuple[Policy | None, Catalog | None] = (None, None)

    # --- deciding ---------------------------------------------------------------------------
    def _needs_classifier(self, verdict: Verdict) -> bool:
        return (
            self.classifier is not None
            and verdict.confidence < self.policy.classifier.below_confidence
        )

    def _follow_the_file(self) -> None:
        if self.watcher is not None:
            policy = self.watcher.current()
            if policy is not self.policy:
                self.policy, self.rules = policy, RulesClassifier(policy)

    def decide(self, params: Mapping[str, Any]) -> Decision:
        """Route a Messages request body (``model`` is ignored) without an event loop."""
        self._follow_the_file()
        start = time.perf_counter()
        features = Features.of(params)
        verdict, by = self.rules.classify(features), "rules"
        if self.classifier is not None and self._needs_classifier(verdict):
            verdict, by = self.classifier.classify(features), self.classifier.name
        return self._decision(features, verdict, by, start)

    async def adecide(self, params: Mapping[str, Any]) -> Decision:
        """Route a Messages request body inside an event loop."""
        self._follow_the_file()
        start = time.perf_counter()
        features = Features.of(params)
        verdict, by = self.rules.classify(features), "rules"
        if self.classifier is not None and self._needs_classifier(verdict):
            verdict, by = await self.classifier.aclassify(features), self.classifier.name
        return self._decision(features, verdict, by, start)

    def _decision(self, features: Features, verdict: Verdict, by: str, start: float) -> Decision:
        if verdict.reason.startswith("fallback to rules"):
            by = "rules (fallback)"
        chain = self._models(verdict.tier, features)
        return Decision(
            tier=verdict.tier,
            model=chain[0],
            reason=verdict.reason,
            classifier=by,
            confidence=verdict.confidence,
            latency_s=time.perf_counter() - start,
            cost_usd=verdict.cost_usd,
            policy=self.policy.name,
        )

    # --- falling back -----------------------------------------------------------------------
    def _ordered(self, tier: str) -> tuple[tuple[str, int | None], ...]:
        """The tier's models, then those of more capable tiers, then cheaper ones, each with its
        context window (None: not in the catalog): worked out once per policy and catalog, not
        per request."""
        policy, catalog = self._orders_of
        if policy is not self.policy or catalog is not self.catalog:  # reloaded, or replaced
            self._orders.clear()
            self._orders_of = (self.policy, self.catalog)
        cached = self._orders.get(tier)
        if cached is None:
            names = self.policy.tier_names
            rank = names.index(tier)
            seen: list[str] = []
            for name in [names[rank], *names[rank + 1 :], *reversed(names[:rank])]:
                seen.extend(m for m in self.policy.tiers[name].models if m not in seen)
            known = {m: self.catalog.get(m) for m in seen}
            cached = tuple((m, i.context_window if i else None) for m, i in known.items())
            self._orders[tier] = cached
        return cached

    def _models(self, tier: str, features: Features | None) -> list[str]:
        """The tier's models, then those of more capable tiers, then cheaper ones; without
        models whose breaker is open or whose context is too small (all of them, when that
        would leave none)."""
        ordered = self._ordered(tier)
        need = (
            None if features is None else features.prompt_tokens + (features.max_output_tokens or 0)
        )
        state = self.breaker.state
        usable = [m for m, window in ordered if state(m) != "open" and self._fits(m, window, need)]
        return usable or [m for m, _ in ordered]

    def _fits(self, model: str, window: int | None, need: int | None) -> bool:
        if need is None:  # no request to fit
            return True
        if window is None:  # not in this router's catalog: resolve() names the closest models
            window = self.catalog.resolve(model).context_window
        return need <= window

    def chain(self, decision: Decision, params: Mapping[str, Any] | None = None) -> list[str]:
        """The models to try for ``decision``, in order (pass ``params`` to skip models whose
        context window the request does not fit)."""
        features = Features.of(params) if params is not None else None
        models = self._models(decision.tier, features)
        if decision.model in models:
            models.remove(decision.model)
            models.insert(0, decision.model)
        return models

    def record_success(self, model: str) -> None:
        self.breaker.record_success(model)

    def record_failure(self, model: str, exc: BaseException) -> None:
        """Count a failure against ``model``'s breaker when ``exc`` is a fallback error."""
        if is_fallback_error(exc):
            self.breaker.record_failure(model)

    # --- closing ----------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close what the router owns (``owns``), last first, each once: ``aclose()`` or
        ``close()``, awaited when it returns an awaitable. One that fails is logged and does
        not keep the others open. Calling it again does nothing."""
        owned, self._owned = self._owned, []
        for resource in reversed(owned):
            closer = getattr(resource, "aclose", None) or getattr(resource, "close", None)
            if closer is None:
                continue
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("closing the router's %s failed", type(resource).__name__)

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
