"""Prompt templates: the built-in ``summarize``, ``classify`` and ``extract``, or a file.

A template is the user message with ``{text}`` (the document), ``{name}`` (its file name) and
``{source}`` (its path) placeholders; any other placeholder is refused when it is loaded.

    >>> t = load_template("summarize")
    >>> "{text}" in t.user and t.name
    'summarize'
    >>> try:
    ...     Template.parse("mine.txt", "Translate {txt}")
    ... except InputRejected as exc:
    ...     print(exc.problems[0])
    mine.txt: unknown placeholder {txt} (use {name}, {source}, {text})
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

from claude_arch.pipeline.inputs import InputRejected, Problem

__all__ = ["BUILTIN", "PLACEHOLDERS", "Template", "load_template"]

PLACEHOLDERS = frozenset({"text", "name", "source"})


@dataclass(frozen=True)
class Template:
    """A named user-message template (with an optional system prompt)."""

    name: str
    user: str
    system: str | None = None

    @classmethod
    def parse(cls, name: str, text: str, system: str | None = None) -> Template:
        """A template from its text, its placeholders checked."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise InputRejected([Problem(name, None, f"bad template: {exc}")]) from None
        allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        for field in fields:
            if field not in PLACEHOLDERS:
                reason = f"unknown placeholder {{{field}}} (use {allowed})"
                raise InputRejected([Problem(name, None, reason)])
        if "text" not in fields:
            raise InputRejected([Problem(name, None, "the template never uses {text}")])
        return cls(name, text, system)

    @property
    def identity(self) -> str:
        """The template's name and a hash of its content (part of each job's key)."""
        digest = hashlib.sha256(f"{self.system}\x1f{self.user}".encode()).hexdigest()[:16]
        return f"{self.name}#{digest}"

    def render(self, text: str, *, name: str, source: str) -> str:
        return self.user.format(text=text, name=name, source=source)


BUILTIN = {
    "summarize": Template(
        "summarize",
        "Summarize the following document in a few sentences.\n\n<document>\n{text}\n</document>",
        "You write faithful, concise summaries.",
    ),
    "classify": Template(
        "classify",
        "Classify the following document into one short category label. Answer with the label "
        "only.\n\n<document>\n{text}\n</document>",
        "You are a precise document classifier.",
    ),
    "extract": Template(
        "extract",
        "Extract the people, organisations, places and dates mentioned in the following "
        "document, as a JSON object of lists.\n\n<document>\n{text}\n</document>",
        "You extract structured data and answer with JSON only.",
    ),
}


def load_template(spec: str) -> Template:
    """A built-in template by name, else the template file at ``spec``."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        names = ", ".join(sorted(BUILTIN))
        reason = f"not a built-in template ({names}) nor a readable file: {exc}"
        raise InputRejected([Problem(spec, None, reason)]) from None
    return Template.parse(str(path), text)
