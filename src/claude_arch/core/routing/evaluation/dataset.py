"""Labelled prompts for evaluation and fitting: JSONL lines of ``{"prompt": ..., "tier": ...}``.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "set.jsonl"
>>> _ = p.write_text('{"prompt": "hi", "tier": "fast"}\\n{"prompt": 3}\\n')
>>> load_examples(p)
Traceback (most recent call last):
...
claude_arch.core.routing.errors.DatasetError: ...set.jsonl:2: prompt: expected text, got 3
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from claude_arch.core.routing.errors import DatasetError

__all__ = ["Example", "load_examples"]


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled prompt."""

    prompt: str
    tier: str


def load_examples(path: str | Path, tiers: Iterable[str] | None = None) -> list[Example]:
    """Read a JSONL file; a malformed line (or a tier not in ``tiers``) raises
    :class:`DatasetError` naming its line. Blank lines are skipped."""
    allowed = set(tiers) if tiers is not None else None
    out: list[Example] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(str(path), None, f"cannot read: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(str(path), number, f"not JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise DatasetError(str(path), number, "expected an object")
        prompt, tier = row.get("prompt"), row.get("tier")
        if not isinstance(prompt, str):
            raise DatasetError(str(path), number, f"prompt: expected text, got {prompt!r}")
        if not isinstance(tier, str):
            raise DatasetError(str(path), number, f"tier: expected text, got {tier!r}")
        if allowed is not None and tier not in allowed:
            raise DatasetError(
                str(path),
                number,
                f"tier: {tier!r} is not a tier of the policy ({', '.join(sorted(allowed))})",
            )
        out.append(Example(prompt, tier))
    if not out:
        raise DatasetError(str(path), None, "no examples")
    return out
