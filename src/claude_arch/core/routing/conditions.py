"""A rule's ``when``: conditions on a request's :class:`Features`, all of which must hold.

>>> from claude_arch.core.routing.features import Features
>>> c = Condition(keywords=("prove", "theorem"), min_tokens=5)
>>> c.matches(Features.of_prompt("Prove the theorem for every n"))
True
>>> c.matches(Features.of_prompt("prove it"))
False
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from claude_arch.core.routing.features import SEARCH_CHARS, Features

__all__ = ["CONDITION_FIELDS", "Condition", "RequiredText", "required_text"]

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
    _phrases: tuple[tuple[str, frozenset[str]], ...] = field(default=(), repr=False, compare=False)
    _keyword_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    """The other keywords (``_phrases``: several words, punctuation), searched as whole words
    in the lower-cased head once one of them may be there: each of its words is a word of the
    head (a phrase found whole has none cut), or, for one without words, it is a substring."""
    _regex_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _regex_needs: RequiredText | None = field(default=None, repr=False, compare=False)
    """Text every match of ``regex`` contains: looked for first (a substring test, in C), so a
    long prompt without it costs no regex scan."""

    def __post_init__(self) -> None:
        if self.keywords:
            lowered = [k.lower() for k in self.keywords]
            single = frozenset(k for k in lowered if _ONE_WORD.fullmatch(k))
            object.__setattr__(self, "_keyword_set", single)
            others = tuple(k for k in lowered if k not in single)
            if others:
                words = "|".join(re.escape(k) for k in others)
                phrases = tuple((k, frozenset(_ONE_WORD.findall(k))) for k in others)
                object.__setattr__(self, "_phrases", phrases)
                object.__setattr__(self, "_keyword_re", re.compile(rf"\b(?:{words})\b"))
        if self.regex is not None:
            object.__setattr__(self, "_regex_re", re.compile(self.regex))
            object.__setattr__(self, "_regex_needs", required_text(self.regex))

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
            words, head = f.words, f.head
            found = (
                self._keyword_re is not None
                and any(
                    parts <= words if parts else phrase in head for phrase, parts in self._phrases
                )
                and self._keyword_re.search(head) is not None
            )
            if not found:
                return False
        return self._regex_re is None or self._regex_found(self._regex_re, f)

    def _regex_found(self, regex: re.Pattern[str], f: Features) -> bool:
        """``regex.search(f.text, 0, SEARCH_CHARS) is not None``, answered without the scan when
        the text every match needs is absent; when every match starts with that text, tried
        only where it occurs (the regex engine has no fast scan for ``(?i)`` or ``\\b`` first)."""
        needs = self._regex_needs
        if needs is None or (needs.ignore_case and not f.head_is_ascii):
            return regex.search(f.text, 0, SEARCH_CHARS) is not None
        # lower-casing ASCII keeps every character where it was: the head's offsets are the text's
        haystack, end = (f.head, len(f.head)) if needs.ignore_case else (f.text, SEARCH_CHARS)
        at = haystack.find(needs.text, 0, end)
        if at < 0:
            return False
        if not needs.starts_match:
            return regex.search(f.text, 0, SEARCH_CHARS) is not None
        for _ in range(_MAX_TRIES):  # match(text, at) is search's attempt at ``at``
            if regex.match(f.text, at, SEARCH_CHARS) is not None:
                return True
            at = haystack.find(needs.text, at + 1, end)
            if at < 0:
                return False
        return regex.search(f.text, at, SEARCH_CHARS) is not None


_MAX_TRIES = 16
"""Occurrences of a regex's required text tried one by one; past them, one scan from the next."""


class RequiredText(NamedTuple):
    """Text that every match of a regex contains (lower-cased when ``ignore_case``)."""

    text: str
    ignore_case: bool
    starts_match: bool
    """Whether every match starts where this text does (only zero-width items come before)."""


_ZERO_WIDTH = ("AT", "ASSERT", "ASSERT_NOT")


def required_text(pattern: str) -> RequiredText | None:
    """The longest run of plain characters at the top level of ``pattern`` (outside groups,
    alternatives and repeats), which every match must contain; ASCII only under ``(?i)``.
    None when there is none, or when the pattern cannot be analysed (the regex then always
    runs: this is only a shortcut).

    >>> required_text(r"(?i)\\bDesign\\b.{0,60}\\b(system|platform)\\b")
    RequiredText(text='design', ignore_case=True, starts_match=True)
    >>> required_text(r"\\?\\s*$")
    RequiredText(text='?', ignore_case=False, starts_match=True)
    >>> required_text(r"(a|b)cd").starts_match, required_text(r"x(?=y)zz").text
    (False, 'zz')
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        parsed = parser.parse(pattern)
        ignore_case = bool(parsed.state.flags & re.IGNORECASE)
        best: tuple[str, bool] | None = None
        run: list[str] = []
        leading = True  # only zero-width items so far
        run_leads = True
        for op, av in [*parsed.data, ("END", None)]:
            literal = chr(av) if str(op) == "LITERAL" else None
            if literal is not None and not (ignore_case and not literal.isascii()):
                if not run:
                    run_leads = leading
                run.append(literal)
                continue
            if run and (best is None or len(run) > len(best[0])):
                best = ("".join(run), run_leads)
            if run or str(op) not in _ZERO_WIDTH:
                leading = False
            run = []
    except Exception:  # a private module that may change: no shortcut then
        return None
    if best is None:
        return None
    text, starts = best
    return RequiredText(text.lower() if ignore_case else text, ignore_case, starts)
