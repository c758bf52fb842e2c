"""Installs the tests need (SDKs, a browser driver), into a cache directory reused across runs.

``CACHE`` is ``$XDG_CACHE_HOME/claude-arch-test`` (default ``~/.cache/claude-arch-test``);
nothing lands in the tree. ``tests/sdk/sdk_installs.py`` and ``tests/service/browser.py`` build on
these three pieces.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claude-arch-test"
INSTALL_TIMEOUT_S = 600


def run_step(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> str | None:
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
def exclusive(target: Path) -> Iterator[None]:
    """Hold a lock beside ``target``: concurrent test runs must not install into it together."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def pinned(source: Path, package: str) -> str:
    """The version ``source``'s package.json pins for ``package``."""
    return str(json.loads((source / "package.json").read_text())["dependencies"][package])


def install_npm_folder(
    source: Path, files: Iterable[str], target: Path, package: str
) -> str | None:
    """Copy ``files`` from ``source`` (a package.json among them) to ``target`` and ``npm install``
    there unless ``package`` is already at its pinned version; None, or the problem."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return "node and npm are not on PATH"
    try:
        with exclusive(target):
            target.mkdir(parents=True, exist_ok=True)
            for name in files:
                # Replaced whole: another test run may be reading the previous copy right now.
                staged = target / f".{name}.new"
                shutil.copyfile(source / name, staged)
                staged.replace(target / name)
            installed = target / "node_modules" / package / "package.json"
            if installed.exists() and (
                json.loads(installed.read_text())["version"] == pinned(source, package)
            ):
                return None
            return run_step(
                [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"], target
            )
    except OSError as exc:
        return str(exc)
