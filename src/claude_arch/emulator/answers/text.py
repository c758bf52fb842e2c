"""Deterministic, plausible pseudo-text with an exact token count.

Every word's cost under :func:`claude_arch.core.tokens.count_text` is known in advance, so a reply
of N tokens has exactly N tokens when the emulator counts its usage the same way.

    >>> import random
    >>> from claude_arch.core.tokens import count_text
    >>> text = generate_text(random.Random(7), 40)
    >>> count_text(text)
    40
"""

from __future__ import annotations

import random

from claude_arch.core.tokens import count_text

__all__ = ["generate_text", "join_words"]

_PROSE = (
    "the a of to and in is it for on with as by at this that from or an are be can we you they "
    "model request answer system token stream latency cache batch limit queue worker service "
    "retry budget region cluster message context reply design pattern value result signal "
    "simple quick robust careful steady clear useful direct modest bounded honest shared "
    "measure check build serve route store send read write plan test scale keep choose run "
    "because however therefore usually often rarely always instead meanwhile overall "
    "architecture throughput reliability observability concurrency deployment configuration"
)
_VOCABULARY = tuple(_PROSE.split())
_COSTS = tuple(count_text(w) for w in _VOCABULARY)
_ONE_TOKEN = tuple(w for w, c in zip(_VOCABULARY, _COSTS, strict=True) if c == 1)


def join_words(rng: random.Random, tokens: int) -> list[str]:
    """Pieces (words and punctuation, each with its leading space) totalling ``tokens`` tokens."""
    pieces: list[str] = []
    left = tokens
    sentence = 0
    sentence_len = rng.randint(6, 16)
    n_words = len(_VOCABULARY)
    while left > 0:
        if sentence >= sentence_len and left >= 2:
            pieces.append(".")
            left -= 1
            sentence = 0
            sentence_len = rng.randint(6, 16)
            continue
        i = rng.randrange(n_words)
        word, cost = _VOCABULARY[i], _COSTS[i]
        if cost > left:
            word, cost = rng.choice(_ONE_TOKEN), 1
        if sentence == 0:
            word = word.capitalize()
        pieces.append(word if not pieces else " " + word)
        left -= cost
        sentence += 1
    return pieces


def generate_text(rng: random.Random, tokens: int) -> str:
    """Sentences of exactly ``tokens`` tokens (at least one word for ``tokens >= 1``)."""
    return "".join(join_words(rng, tokens))
