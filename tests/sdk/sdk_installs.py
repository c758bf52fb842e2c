"""Install the official SDKs the SDK tests drive, into a cache directory reused across runs.

- the 0.x Python SDK: a venv at ``CACHE/sdk0`` with ``pip install 'anthropic<1'``;
- the TypeScript SDK: ``tests/sdk/ts`` copied to ``CACHE/ts-sdk`` and ``npm install`` run there
  when the pinned ``@anthropic-ai/sdk`` is not the one installed (nothing lands in the tree).

``CACHE`` is ``$XDG_CACHE_HOME/claude-arch-test`` (default ``~/.cache/claude-arch-test``). The
fixtures in ``conftest.py`` call these; to warm the cache by hand (e.g. before going offline):

    .venv/bin/python tests/sdk/sdk_installs.py
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

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claude-arch-test"
SDK0_DIR = CACHE / "sdk0"
TS_DIR = CACHE / "ts-sdk"
TS_SOURCES = ("package.json", "check.mjs")
INSTALL_TIMEOUT_S = 300
_READY = ".claude-arch-ready"


def _run(args: list[str], cwd: Path | None = None) -> str | None:
    """Run one install step; None on success, else why it failed (the output's tail)."""
    try:
        done = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
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


def install_sdk0_venv(target: Path = SDK0_DIR) -> str | None:
    """A venv holding ``anthropic<1`` at ``target`` (kept once complete); None, or the problem."""
    try:
        with _exclusive(target):
            return _install_sdk0_venv(target)
    except OSError as exc:
        return str(exc)


def _install_sdk0_venv(target: Path) -> str | None:
    python = target / "bin" / "python"
    if (target / _READY).exists() and python.exists():
        return None
    # A half-made venv (an install interrupted or failed) is started again from nothing.
    shutil.rmtree(target, ignore_errors=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    problem = _run([sys.executable, "-m", "venv", str(target)]) or _run([*pip, "anthropic<1"])
    if problem is None:
        (target / _READY).touch()
    return problem


def pinned_ts_sdk() -> str:
    package = json.loads((HERE / "ts" / "package.json").read_text())
    return str(package["dependencies"]["@anthropic-ai/sdk"])


def install_ts_sdk(target: Path = TS_DIR) -> str | None:
    """``tests/sdk/ts`` at ``target`` with its pinned npm packages; None, or the problem."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return "node and npm are not on PATH"
    try:
        with _exclusive(target):
            return _install_ts_sdk(target, npm)
    except OSError as exc:
        return str(exc)


def _install_ts_sdk(target: Path, npm: str) -> str | None:
    target.mkdir(parents=True, exist_ok=True)
    for name in TS_SOURCES:
        # Replaced whole, since another test run may be reading the previous copy right now.
        staged = target / f".{name}.new"
        shutil.copyfile(HERE / "ts" / name, staged)
        staged.replace(target / name)
    installed = target / "node_modules" / "@anthropic-ai" / "sdk" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == pinned_ts_sdk():
        return None
    return _run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock"], cwd=target)


if __name__ == "__main__":
    failures = {
        "0.x Python SDK": install_sdk0_venv(),
        "TypeScript SDK": install_ts_sdk(),
    }
    for name, problem in failures.items():
        sys.stdout.write(f"{name}: {problem or 'ready'}\n")
    sys.exit(1 if any(failures.values()) else 0)
