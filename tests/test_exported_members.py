from __future__ import annotations

import pytest

import claude_arch


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert claude_arch.__all__ == sorted(claude_arch.__all__)
    for name in claude_arch.__all__:
        assert getattr(claude_arch, name) is not None, name


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = claude_arch.NoSuchThing  # type: ignore[attr-defined]
