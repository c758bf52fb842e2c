"""Scripted replies: regex rules on model, system prompt and last user message → a fixed answer.

    >>> rules = ScriptedRules([RuleSpec.model_validate(
    ...     {"match": {"user": "(?i)refund"}, "reply": {"text": "billing"}})])
    >>> rules.match("claude-haiku-4-5", "", "I want a refund").text
    'billing'
    >>> rules.match("claude-haiku-4-5", "", "hello") is None
    True

A rules file is TOML (``[[rules]]`` tables) or JSON (``{"rules": [...]}`` or a bare list):

    [[rules]]
    match = { system = "classifier", user = "(?i)invoice|refund" }
    reply = { text = "billing" }
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from claude_arch.emulator.config import RuleReply, RuleSpec
from claude_arch.errors import ConfigError, InvalidRequestError

__all__ = ["ScriptedRules", "last_user_text", "load_rules", "parse_rules", "system_text"]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(b.get("text", "")) for b in content if isinstance(b, Mapping) and "text" in b
        )
    return ""


def system_text(params: Mapping[str, Any]) -> str:
    return _text_of(params.get("system"))


def last_user_text(params: Mapping[str, Any]) -> str:
    """The text blocks of the last user message (tool results are not the user speaking)."""
    for message in reversed(params.get("messages") or ()):
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


class _Compiled:
    __slots__ = ("model", "reply", "spec", "system", "user")

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        # RuleMatch has checked that the patterns compile.
        self.model = re.compile(spec.match.model) if spec.match.model else None
        self.system = re.compile(spec.match.system) if spec.match.system else None
        self.user = re.compile(spec.match.user) if spec.match.user else None
        self.reply = spec.reply


class ScriptedRules:
    """An ordered, replaceable rule list (thread-safe swap); the first match wins."""

    def __init__(self, specs: Iterable[RuleSpec] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Compiled] = [_Compiled(s) for s in specs]

    def dump(self) -> list[dict[str, Any]]:
        return [r.spec.model_dump(exclude_none=True) for r in self._rules]

    def __len__(self) -> int:
        return len(self._rules)

    def replace(self, specs: Iterable[RuleSpec]) -> None:
        compiled = [_Compiled(s) for s in specs]
        with self._lock:
            self._rules = compiled

    def add(self, spec: RuleSpec) -> None:
        compiled = _Compiled(spec)
        with self._lock:
            self._rules = [*self._rules, compiled]

    def match(self, model: str, system: str, user: str) -> RuleReply | None:
        for rule in self._rules:
            if rule.model and not rule.model.search(model):
                continue
            if rule.system and not rule.system.search(system):
                continue
            if rule.user and not rule.user.search(user):
                continue
            return rule.reply
        return None

    def match_request(self, params: Mapping[str, Any]) -> RuleReply | None:
        if not self._rules:
            return None
        return self.match(str(params.get("model", "")), system_text(params), last_user_text(params))


def parse_rules(data: Any) -> list[RuleSpec]:
    """Rules from decoded JSON/TOML: a list, or a mapping with a ``rules`` list."""
    items = data.get("rules", []) if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise InvalidRequestError("rules: expected a list of rules", field="rules")
    try:
        return [RuleSpec.model_validate(item) for item in items]
    except ValidationError as exc:
        raise InvalidRequestError(f"rules: {exc.errors(include_url=False)[0]['msg']}") from exc


def load_rules(path: Path) -> list[RuleSpec]:
    """Read a TOML or JSON rules file."""
    try:
        text = path.read_text("utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return parse_rules(data)
    except (OSError, ValueError, InvalidRequestError) as exc:
        raise ConfigError(f"rules file {path}: {exc}") from exc
