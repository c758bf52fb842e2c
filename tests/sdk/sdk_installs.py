"""Install the official SDKs the SDK tests drive, into a cache directory reused across runs.

- the 0.x Python SDK: a venv at ``CACHE/sdk0`` with ``pip install 'anthropic<1'``;
- the TypeScript SDK: ``tests/sdk/ts`` copied to ``CACHE/ts-sdk`` and ``npm install`` run there
  when the pinned ``@anthropic-ai/sdk`` is not the one installed (nothing lands in the tree).

``CACHE`` is ``$XDG_CACHE_HOME/claude-arch-test`` (default ``~/.cache/claude-arch-test``). The
fixtures in ``conftest.py`` call these; to warm the cache by hand (e.g. before going offline):

    .venv/bin/python tests/sdk/sdk_installs.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from cached_install import CACHE, exclusive, install_npm_folder, pinned, run_step

HERE = Path(__file__).resolve().parent
SDK0_DIR = CACHE / "sdk0"
TS_DIR = CACHE / "ts-sdk"
TS_SOURCES = ("package.json", "check.mjs", "parity.mjs")
_READY = ".claude-arch-ready"


def install_sdk0_venv(target: Path = SDK0_DIR) -> str | None:
    """A venv holding ``anthropic<1`` at ``target`` (kept once complete); None, or the problem."""
    try:
        with exclusive(target):
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
    problem = run_step([sys.executable, "-m", "venv", str(target)]) or run_step(
        [*pip, "anthropic<1"]
    )
    if problem is None:
        (target / _READY).touch()
    return problem


def pinned_ts_sdk() -> str:
    return pinned(HERE / "ts", "@anthropic-ai/sdk")


def install_ts_sdk(target: Path = TS_DIR) -> str | None:
    """``tests/sdk/ts`` at ``target`` with its pinned npm packages; None, or the problem."""
    return install_npm_folder(HERE / "ts", TS_SOURCES, target, "@anthropic-ai/sdk")


if __name__ == "__main__":
    failures = {
        "0.x Python SDK": install_sdk0_venv(),
        "TypeScript SDK": install_ts_sdk(),
    }
    for name, problem in failures.items():
        sys.stdout.write(f"{name}: {problem or 'ready'}\n")
    sys.exit(1 if any(failures.values()) else 0)
