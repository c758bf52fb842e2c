"""Import weight: `import claude_arch` and the client paths stay free of heavy packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from claude_arch.core.sync_client import SyncClaudeClient
from claude_arch.settings import Settings
from claude_arch.testing import EmulatorServer

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


def test_a_blocking_client_and_a_plain_call_load_no_pydantic_models_settings_or_loop() -> None:
    with EmulatorServer(api_keys=["sk-ant-imports"]) as emu:
        statement = (
            "from claude_arch.core.sync_client import SyncClaudeClient;"
            f"c = SyncClaudeClient(base_url={emu.url!r}, api_key='sk-ant-imports');"
            "c.create(model='claude-haiku-4-5', max_tokens=8, system='Be brief.',"
            " messages=[{'role': 'user', 'content': [{'type': 'text', 'text': 'Hi'}]}])"
        )
        loaded = imported_modules(statement)
        assert emu.stats()["totals"]["requests"] == 1
    assert "pydantic_core" in loaded  # the plain request's schema
    assert not loaded & {"pydantic", "pydantic_settings", "asyncio"}


def test_the_client_still_shows_its_settings_as_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_ARCH_ENV_FILE", raising=False)
    monkeypatch.setenv("CLAUDE_ARCH_MAX_RETRIES", "4")
    monkeypatch.setenv("CLAUDE_ARCH_DATA_DIR", "elsewhere")  # a field no client reads
    with SyncClaudeClient(base_url="http://127.0.0.1:9", api_key="k") as client:
        assert isinstance(client.settings, Settings)
        assert client.settings.max_retries == 4
        assert str(client.settings.data_dir) == "elsewhere"
