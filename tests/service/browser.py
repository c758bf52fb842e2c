"""What the browser test needs, installed on first use and reused afterwards.

- Chromium: Debian's ``chromium`` package (``apt-get install chromium``, only when
  ``/usr/bin/chromium`` is missing and we are root; ``CLAUDE_ARCH_TEST_CHROMIUM`` names another
  binary). No browser is ever downloaded by Playwright.
- ``playwright-core`` from npm, to drive it: ``tests/service/browser`` copied to
  ``CACHE/web-browser`` and ``npm install`` run there when the pinned version is not the one
  installed (nothing lands in the tree). ``CACHE`` is ``$XDG_CACHE_HOME/claude-arch-test``.

Why playwright-core and not the ``playwright`` PyPI package: measured here, ``npm install
playwright-core`` is one 14 MB package in about 3 s, while ``pip install playwright`` is 165 MB
(it bundles its own Node driver) plus greenlet and pyee, in about 7.5 s; Node is already on every
machine that runs the TypeScript SDK tests. To warm the cache by hand:

    .venv/bin/python tests/service/browser.py
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent / "browser"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claude-arch-test"
DRIVER_DIR = CACHE / "web-browser"
DRIVER_SOURCES = ("package.json", "chat_test.mjs")
CHROMIUM = Path(os.environ.get("CLAUDE_ARCH_TEST_CHROMIUM", "/usr/bin/chromium"))
INSTALL_TIMEOUT_S = 600


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str | None:
    """Run one install step; None on success, else why it failed (the output's tail)."""
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-600:]
        return f"{' '.join(args[:4])} exited {done.returncode}: {tail}"
    return None


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold a lock beside ``target``: concurrent test runs must not install into it together."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install_chromium(binary: Path = CHROMIUM) -> str | None:
    """Debian's chromium at ``binary``; None, or the problem."""
    if binary.exists():
        return None
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return f"{binary} is missing and only root can apt-get install chromium here"
    try:
        with _exclusive(CACHE / "chromium-apt"):
            if binary.exists():  # another run installed it while we waited
                return None
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            install = [apt, "install", "-y", "-q", "chromium"]
            # A fresh image often has no package lists yet: update once, then try again.
            if _run(install, env=env) is not None:
                problem = _run([apt, "update", "-q"], env=env) or _run(install, env=env)
                if problem:
                    return problem
    except OSError as exc:
        return str(exc)
    return None if binary.exists() else f"chromium installed, but {binary} is still missing"


def pinned_driver() -> str:
    package = json.loads((HERE / "package.json").read_text())
    return str(package["dependencies"]["playwright-core"])


def install_driver(target: Path = DRIVER_DIR) -> str | None:
    """``tests/service/browser`` at ``target`` with its pinned playwright-core; None, or why."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return "node and npm are not on PATH"
    try:
        with _exclusive(target):
            return _install_driver(target, npm)
    except OSError as exc:
        return str(exc)


def _install_driver(target: Path, npm: str) -> str | None:
    target.mkdir(parents=True, exist_ok=True)
    for name in DRIVER_SOURCES:
        # Replaced whole, since another test run may be reading the previous copy right now.
        staged = target / f".{name}.new"
        shutil.copyfile(HERE / name, staged)
        staged.replace(target / name)
    installed = target / "node_modules" / "playwright-core" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == pinned_driver():
        return None
    return _run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock"], cwd=target)


if __name__ == "__main__":
    failures = {"chromium": install_chromium(), "playwright-core": install_driver()}
    for name, problem in failures.items():
        sys.stdout.write(f"{name}: {problem or 'ready'}\n")
    sys.exit(1 if any(failures.values()) else 0)
