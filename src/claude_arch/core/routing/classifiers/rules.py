"""The ``rules`` classifier: the policy's rules in order, the first match decides.

>>> from claude_arch.core.routing.policy import shipped_policy
>>> from claude_arch.core.routing.features import Features
>>> rules = RulesClassifier(shipped_policy())
>>> rules.classify(Features.of_prompt("Prove that there are infinitely many primes."))
Verdict(tier='deep', confidence=0.85, reason='rule proof', cost_usd=Decimal('0'))
>>> rules.classify(Features.of_prompt("")).reason
'no rule matched: default tier'
"""

from __future__ import annotations

from claude_arch.core.routing.decision import Verdict
from claude_arch.core.routing.features import Features
from claude_arch.core.routing.policy import Policy

__all__ = ["RulesClassifier"]


class RulesClassifier:
    """Declarative rules from a :class:`Policy`; no network, microseconds per request."""

    name = "rules"

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._default = Verdict(
            policy.default_tier, policy.default_confidence, "no rule matched: default tier"
        )
        # each rule's verdict is built once (a Verdict is immutable), not per request
        self._rules = tuple(
            (rule.when.matches, Verdict(rule.tier, rule.confidence, f"rule {rule.name}"))
            for rule in policy.rules
        )

    def classify(self, features: Features) -> Verdict:
        for matches, verdict in self._rules:
            if matches(features):
                return verdict
        return self._default

    async def aclassify(self, features: Features) -> Verdict:
        return self.classify(features)
