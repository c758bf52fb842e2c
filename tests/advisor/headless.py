"""Headless Chromium for the advisor's pages: the system's ``chromium`` and ``playwright-core``
from npm, installed on first use into the test cache (``tests/cached_install.py``).

Chromium comes from ``tests/service/browser.py`` (Debian's package, installed only as root when
missing); the driver folder ``tests/advisor/browser`` is copied to ``CACHE/advisor-browser`` and
``npm install``-ed there. Missing either skips a test on a laptop and fails it under CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from cached_install import CACHE, install_npm_folder

HERE = Path(__file__).resolve().parent / "browser"
DRIVER_DIR = CACHE / "advisor-browser"
_SERVICE_BROWSER = Path(__file__).resolve().parents[1] / "service" / "browser.py"


def _service_browser() -> Any:
    spec = importlib.util.spec_from_file_location("service_browser_install", _SERVICE_BROWSER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chromium_driver(config: pytest.Config) -> tuple[Path, Path]:
    """``(chromium binary, driver folder)``, installed if needed; skip or fail when they cannot
    be (the suite's rule: ``service_missing`` in tests/conftest.py)."""
    root = config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py is not loaded"
    browser = _service_browser()
    problem = browser.install_chromium()
    if problem:
        root.service_missing("Chromium (Debian package chromium)", str(browser.CHROMIUM), problem)
    problem = install_npm_folder(
        HERE, ("package.json", "pages_check.mjs"), DRIVER_DIR, "playwright-core"
    )
    if problem:
        root.service_missing("playwright-core (npm install)", str(DRIVER_DIR), problem)
    return Path(browser.CHROMIUM), DRIVER_DIR


async def check_pages(driver: Path, chromium: Path, **config: Any) -> dict[str, Any]:
    """Run ``pages_check.mjs`` with ``config``; what it saw."""
    node = shutil.which("node")
    assert node is not None  # the driver only installs where Node is
    done = await anyio.run_process(
        [node, str(driver / "pages_check.mjs"),
         json.dumps({"chromium": str(chromium), "timeoutMs": 30_000, **config})],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    assert "failure" not in report, report["failure"]
    return report
