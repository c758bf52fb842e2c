"""The one interface every classifier implements: a request's features in, a :class:`Verdict` out.

Local classifiers (``rules``, ``embedding``) answer both calls at once; the ``llm`` classifier
calls the API, with ``aclassify`` on a ``ClaudeClient`` and ``classify`` on a
``SyncClaudeClient``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from claude_arch.core.routing.decision import Verdict
from claude_arch.core.routing.features import Features

__all__ = ["Classifier"]


@runtime_checkable
class Classifier(Protocol):
    """Anything that picks a tier for a request."""

    name: str

    def classify(self, features: Features) -> Verdict:
        """Pick a tier without an event loop."""
        ...

    async def aclassify(self, features: Features) -> Verdict:
        """Pick a tier inside an event loop."""
        ...
