"""The ``llm`` classifier: the cheapest model picks a tier through a forced tool call.

Every failure (an error, the time budget passed, an answer that is not a tier, a request whose
estimated cost is over budget) falls back to the ``rules`` verdict, whose reason then starts with
``fallback to rules:``. Verdicts are cached by excerpt (TTL + LRU), so a repeated prompt costs
nothing.

    classifier = LLMClassifier(policy, client)         # ClaudeClient or SyncClaudeClient
    router = Router(policy, classifier=classifier)
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from claude_arch.core.pricing.catalog import default_catalog
from claude_arch.core.routing.classifiers.decision_cache import DecisionCache
from claude_arch.core.routing.classifiers.llm_prompt import (
    classification_request,
    excerpt,
    parse_tier,
)
from claude_arch.core.routing.classifiers.rules import RulesClassifier
from claude_arch.core.routing.decision import Verdict
from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy
from claude_arch.core.tokens import count_request
from claude_arch.errors import ClaudeArchError

if TYPE_CHECKING:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.core.types import Message

__all__ = ["LLMClassifier"]

log = logging.getLogger("claude_arch.routing")


class LLMClassifier:
    """Ask ``model`` (default: the policy's ``classifier.model``) for a tier, within
    ``timeout_s`` and ``max_cost_usd`` per request, over ``excerpt_chars`` of the prompt."""

    name = "llm"

    def __init__(
        self,
        policy: Policy,
        client: ClaudeClient | SyncClaudeClient,
        *,
        model: str | None = None,
        timeout_s: float | None = None,
        max_cost_usd: float | None = None,
        excerpt_chars: int | None = None,
        cache: DecisionCache[Verdict] | None = None,
    ) -> None:
        opts = policy.classifier.options
        self.policy = policy
        self.client = client
        self.model = model or str(opts.get("model") or next(iter(policy.tiers.values())).models[0])
        self.timeout_s = float(timeout_s or opts.get("timeout_s", 2.0))
        self.max_cost_usd = Decimal(str(max_cost_usd or opts.get("max_cost_usd", 0.001)))
        self.excerpt_chars = int(excerpt_chars or opts.get("excerpt_chars", 1500))
        self.cache: DecisionCache[Verdict] = cache or DecisionCache(
            size=int(opts.get("cache_size", 4096)), ttl_s=float(opts.get("cache_ttl_s", 600))
        )
        self.rules = RulesClassifier(policy)
        self.spent_usd = Decimal(0)

    def _request(self, features: Features) -> tuple[str, dict[str, Any]] | Verdict:
        key = excerpt(features, self.excerpt_chars)
        cached = self.cache.get(key)
        if cached is not None:
            return Verdict(cached.tier, cached.confidence, f"{cached.reason} (cached)")
        body = classification_request(self.policy, features, self.model, self.excerpt_chars)
        estimate = default_catalog().cost(
            self.model, {"input_tokens": count_request(body), "output_tokens": body["max_tokens"]}
        )
        if estimate > self.max_cost_usd:
            return self._fallback(features, f"estimated ${estimate} is over the cost budget")
        return key, body

    def _verdict(self, key: str, message: Message, features: Features) -> Verdict:
        cost = message.record.cost_usd if message.record is not None else Decimal(0)
        self.spent_usd += cost
        parsed = parse_tier(message.tool_uses, self.policy)
        if parsed is None:
            return self._fallback(features, "the answer named no tier", cost)
        verdict = Verdict(parsed[0], parsed[1], f"{self.model} chose {parsed[0]}", cost)
        self.cache.put(key, Verdict(verdict.tier, verdict.confidence, verdict.reason))
        return verdict

    def _fallback(self, features: Features, why: str, cost: Decimal = Decimal(0)) -> Verdict:
        log.info("llm classifier fell back to rules: %s", why)
        rules = self.rules.classify(features)
        return Verdict(rules.tier, rules.confidence, f"fallback to rules: {why}", cost)

    def classify(self, features: Features) -> Verdict:
        from claude_arch.core.sync_client import SyncClaudeClient

        if not isinstance(self.client, SyncClaudeClient):
            raise TypeError("LLMClassifier.classify needs a SyncClaudeClient; use aclassify")
        prepared = self._request(features)
        if isinstance(prepared, Verdict):
            return prepared
        key, body = prepared
        try:
            message = self.client.create(deadline=self.timeout_s, **body)
        except ClaudeArchError as exc:
            return self._fallback(features, f"{type(exc).__name__}: {exc.message}")
        return self._verdict(key, message, features)

    async def aclassify(self, features: Features) -> Verdict:
        from claude_arch.core.sync_client import SyncClaudeClient

        prepared = self._request(features)
        if isinstance(prepared, Verdict):
            return prepared
        key, body = prepared
        try:
            if isinstance(self.client, SyncClaudeClient):
                message = await asyncio.to_thread(
                    self.client.create, deadline=self.timeout_s, **body
                )
            else:
                message = await self.client.create(deadline=self.timeout_s, **body)
        except ClaudeArchError as exc:
            return self._fallback(features, f"{type(exc).__name__}: {exc.message}")
        return self._verdict(key, message, features)
