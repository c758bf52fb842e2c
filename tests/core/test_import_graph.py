"""Imports run one way: core imports no variant, no emulator and no test helper (the embedded
emulator is loaded by name through ``core.embedded.EMULATOR_HOOK``), and nothing outside core
reaches into the clients' sans-IO ``ClientCore``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import claude_arch
from claude_arch.core.embedded import EMULATOR_HOOK

PACKAGE = Path(claude_arch.__file__).parent
CORE = PACKAGE / "core"
NOT_FROM_CORE = (
    "claude_arch.emulator",
    "claude_arch.testing",
    "claude_arch.service",
    "claude_arch.pipeline",
    "claude_arch.serverless",
    "claude_arch.advisor",
    "claude_arch.edge",
    "claude_arch.cli",
)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (functions and TYPE_CHECKING blocks too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("path", modules_under(CORE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_imports_no_variant_emulator_or_test_helper(path: Path) -> None:
    wrong = sorted(m for m in imported_modules(path) if m.startswith(NOT_FROM_CORE))
    assert wrong == [], f"{path.relative_to(PACKAGE)} imports {wrong}"


def test_the_emulator_hook_names_a_function_that_exists() -> None:
    module, _, function = EMULATOR_HOOK.partition(":")
    assert module.startswith(NOT_FROM_CORE)  # the one way core reaches the emulator
    __import__(module)
    assert callable(getattr(sys.modules[module], function))


def test_no_module_outside_core_uses_client_core() -> None:
    offenders: list[str] = []
    for path in modules_under(PACKAGE):
        if CORE in path.parents:
            continue
        tree = ast.parse(path.read_text(), str(path))
        where = str(path.relative_to(PACKAGE))
        if any(m.startswith("claude_arch.core.client_core") for m in imported_modules(path)):
            offenders.append(f"{where} imports claude_arch.core.client_core")
        for node in ast.walk(tree):
            # ``client.core`` (an attribute, not the package claude_arch.core)
            if isinstance(node, ast.Attribute) and node.attr == "core":
                chain = ast.unparse(node)
                if not chain.startswith("claude_arch."):
                    offenders.append(f"{where}:{node.lineno} reaches into {chain}")
    assert offenders == []


def test_importing_the_clients_loads_no_emulator_or_test_module() -> None:
    code = (
        "import sys, claude_arch.core.client, claude_arch.core.sync_client\n"
        f"print(sorted(m for m in sys.modules if m.startswith({NOT_FROM_CORE!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
