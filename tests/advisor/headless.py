"""Headless Chromium for the advisor's pages: the system's ``chromium`` and ``playwright-core``
from npm, installed on first use into the test cache (``tests/cached_install.py``).

Both come from ``tests/service/browser.py``: Chromium is Debian's package (installed only as root
when missing), and the driver ``pages_check.mjs`` lives with the web page's drivers in
``tests/service/browser``, installed once for all of them. Missing either skips a test on a laptop
and fails it under CI=true.
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
    problem = browser.install_driver()
    if problem:
        root.service_missing("playwright-core (npm install)", str(browser.DRIVER_DIR), problem)
    return Path(browser.CHROMIUM), Path(browser.DRIVER_DIR)


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
