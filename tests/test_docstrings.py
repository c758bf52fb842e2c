"""The examples in the package's docstrings run and print what they say (docs match the code)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import claude_arch

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(claude_arch.__path__, prefix="claude_arch.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


def test_the_package_has_examples() -> None:
    found = sum(
        len(doctest.DocTestFinder().find(importlib.import_module(name))) for name in MODULES
    )
    assert found > 20
