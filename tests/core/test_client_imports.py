"""Import weight: `import claude_arch` and the client paths stay free of heavy packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("anthropic", "fastapi", "celery", "redis")


def imported_modules(statement: str) -> set[str]:
    """Top-level packages a fresh interpreter imports for ``statement`` (``-X importtime``)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "statement",
    [
        "import claude_arch",
        "from claude_arch.core.client import ClaudeClient",
        "from claude_arch.core.sync_client import SyncClaudeClient",
    ],
)
def test_no_heavy_imports(statement: str) -> None:
    loaded = imported_modules(statement)
    assert "claude_arch" in loaded
    assert not loaded & set(HEAVY)


def test_sync_client_path_does_not_import_aiohttp() -> None:
    statement = (
        "from claude_arch.core.sync_client import SyncClaudeClient;"
        "from claude_arch.settings import Settings;"
        "SyncClaudeClient(Settings(_env_file=None), base_url='http://127.0.0.1:9', api_key='k')"
        ".transport()"
    )
    loaded = imported_modules(statement)
    assert "httpx" in loaded
    assert "aiohttp" not in loaded
