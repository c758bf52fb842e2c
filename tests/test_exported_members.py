from __future__ import annotations

import pytest

import claude_arch


def isort_style(name: str) -> tuple[int, str]:
    """ruff's order for ``__all__`` (RUF022): CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert claude_arch.__all__ == sorted(claude_arch.__all__, key=isort_style)
    for name in claude_arch.__all__:
        assert getattr(claude_arch, name) is not None, name


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = claude_arch.NoSuchThing  # type: ignore[attr-defined]
