"""What the browser test needs, installed on first use and reused afterwards.

- Chromium: Debian's ``chromium`` package (``apt-get install chromium``, only when
  ``/usr/bin/chromium`` is missing and we are root; ``CLAUDE_ARCH_TEST_CHROMIUM`` names another
  binary). No browser is ever downloaded by Playwright.
- ``playwright-core`` from npm, to drive it: ``tests/service/browser`` (the drivers of the web
  page, the dashboard and the advisor's pages, and ``chromium.mjs``, what they share) copied to
  ``CACHE/web-browser`` and ``npm install`` run there when the pinned version is not the one
  installed (nothing lands in the tree). ``CACHE`` is ``$XDG_CACHE_HOME/claude-arch-test``.

Why playwright-core and not the ``playwright`` PyPI package: measured here, ``npm install
playwright-core`` is one 14 MB package in about 3 s, while ``pip install playwright`` is 165 MB
(it bundles its own Node driver) plus greenlet and pyee, in about 7.5 s; Node is already on every
machine that runs the TypeScript SDK tests. To warm the cache by hand:

    .venv/bin/python tests/service/browser.py
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from cached_install import CACHE, exclusive, install_npm_folder, pinned, run_step

HERE = Path(__file__).resolve().parent / "browser"
DRIVER_DIR = CACHE / "web-browser"
DRIVER_SOURCES = (
    "package.json",
    "chromium.mjs",
    "chat_test.mjs",
    "dashboard_test.mjs",
    "pages_check.mjs",
)
CHROMIUM = Path(os.environ.get("CLAUDE_ARCH_TEST_CHROMIUM", "/usr/bin/chromium"))


def install_chromium(binary: Path = CHROMIUM) -> str | None:
    """Debian's chromium at ``binary``; None, or the problem."""
    if binary.exists():
        return None
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return f"{binary} is missing and only root can apt-get install chromium here"
    try:
        with exclusive(CACHE / "chromium-apt"):
            if binary.exists():  # another run installed it while we waited
                return None
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            install = [apt, "install", "-y", "-q", "chromium"]
            # A fresh image often has no package lists yet: update once, then try again.
            if run_step(install, env=env) is not None:
                problem = run_step([apt, "update", "-q"], env=env) or run_step(install, env=env)
                if problem:
                    return problem
    except OSError as exc:
        return str(exc)
    return None if binary.exists() else f"chromium installed, but {binary} is still missing"


def pinned_driver() -> str:
    return pinned(HERE, "playwright-core")


def install_driver(target: Path = DRIVER_DIR) -> str | None:
    """``tests/service/browser`` at ``target`` with its pinned playwright-core; None, or why."""
    return install_npm_folder(HERE, DRIVER_SOURCES, target, "playwright-core")


if __name__ == "__main__":
    failures = {"chromium": install_chromium(), "playwright-core": install_driver()}
    for name, problem in failures.items():
        sys.stdout.write(f"{name}: {problem or 'ready'}\n")
    sys.exit(1 if any(failures.values()) else 0)
