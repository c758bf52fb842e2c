"""A rule's ``when``: conditions on a request's :class:`Features`, all of which must hold.

>>> from claude_arch.core.routing.features import Features
>>> c = Condition(keywords=("prove", "theorem"), min_tokens=5)
>>> c.matches(Features.of_prompt("Prove the theorem for every n"))
True
>>> c.matches(Features.of_prompt("prove it"))
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from claude_arch.core.routing.features import SEARCH_CHARS, Features

__all__ = ["CONDITION_FIELDS", "Condition"]

_ONE_WORD = re.compile(r"\w+")

_INT_FIELDS = ("min_tokens", "max_tokens", "min_output", "max_output", "min_turns", "max_turns")
_BOOL_FIELDS = ("code", "tools", "images")
CONDITION_FIELDS = (*_INT_FIELDS, *_BOOL_FIELDS, "keywords", "regex")
"""The keys a rule's ``when`` may hold."""


@dataclass(frozen=True, slots=True)
class Condition:
    """Bounds on prompt tokens, requested output (``max_tokens``) and user turns; whether the
    last user message holds code, the request tools or images; any of ``keywords`` (whole words,
    any case) and ``regex`` (``re.search``) in the last user message."""

    min_tokens: int | None = None
    max_tokens: int | None = None
    min_output: int | None = None
    max_output: int | None = None
    min_turns: int | None = None
    max_turns: int | None = None
    code: bool | None = None
    tools: bool | None = None
    images: bool | None = None
    keywords: tuple[str, ...] = ()
    regex: str | None = None
    _keyword_set: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """Single-word keywords, lower-cased: looked up in the request's word set."""
    _phrases: tuple[str, ...] = field(default=(), repr=False, compare=False)
    _keyword_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    """The other keywords (``_phrases``: several words, punctuation), searched as whole words
    in the lower-cased head once a plain substring test has found one of them."""
    _regex_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.keywords:
            lowered = [k.lower() for k in self.keywords]
            single = frozenset(k for k in lowered if _ONE_WORD.fullmatch(k))
            object.__setattr__(self, "_keyword_set", single)
            others = tuple(k for k in lowered if k not in single)
            if others:
                words = "|".join(re.escape(k) for k in others)
                object.__setattr__(self, "_phrases", others)
                object.__setattr__(self, "_keyword_re", re.compile(rf"\b(?:{words})\b"))
        if self.regex is not None:
            object.__setattr__(self, "_regex_re", re.compile(self.regex))

    @classmethod
    def from_mapping(cls, spec: dict[str, Any]) -> Condition:
        """Build from a ``when`` mapping; raises ``ValueError`` naming the bad key."""
        kwargs: dict[str, Any] = {}
        for key, value in spec.items():
            if key in _INT_FIELDS:
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{key}: expected a whole number >= 0, got {value!r}")
                kwargs[key] = value
            elif key in _BOOL_FIELDS:
                if not isinstance(value, bool):
                    raise ValueError(f"{key}: expected true or false, got {value!r}")
                kwargs[key] = value
            elif key == "keywords":
                if (
                    not isinstance(value, list)
                    or not value
                    or not all(isinstance(k, str) and k.strip() for k in value)
                ):
                    raise ValueError("keywords: expected a non-empty list of words")
                kwargs[key] = tuple(value)
            elif key == "regex":
                if not isinstance(value, str):
                    raise ValueError(f"regex: expected text, got {value!r}")
                try:
                    re.compile(value)
                except re.error as exc:
                    raise ValueError(f"regex: {exc}") from exc
                kwargs[key] = value
            else:
                raise ValueError(
                    f"unknown condition {key!r} (one of: {', '.join(CONDITION_FIELDS)})"
                )
        return cls(**kwargs)

    def matches(self, f: Features) -> bool:
        """Whether every condition set holds for ``f``."""
        if self.min_tokens is not None and f.prompt_tokens < self.min_tokens:
            return False
        if self.max_tokens is not None and f.prompt_tokens > self.max_tokens:
            return False
        out = f.max_output_tokens
        if self.min_output is not None and (out is None or out < self.min_output):
            return False
        if self.max_output is not None and out is not None and out > self.max_output:
            return False
        if self.min_turns is not None and f.turns < self.min_turns:
            return False
        if self.max_turns is not None and f.turns > self.max_turns:
            return False
        if self.code is not None and f.has_code != self.code:
            return False
        if self.tools is not None and f.has_tools != self.tools:
            return False
        if self.images is not None and f.has_images != self.images:
            return False
        if self.keywords and f.words.isdisjoint(self._keyword_set):
            head = f.head
            found = (
                self._keyword_re is not None
                and any(phrase in head for phrase in self._phrases)
                and self._keyword_re.search(head) is not None
            )
            if not found:
                return False
        return self._regex_re is None or self._regex_re.search(f.text, 0, SEARCH_CHARS) is not None
