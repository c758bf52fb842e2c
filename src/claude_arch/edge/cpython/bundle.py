"""What the worker uploads: the edge core's modules beside ``entry.py``, and nothing else.

    claude-arch edge bundle                      # into deploy/cloudflare-worker/src/
    claude-arch edge bundle --out /tmp/worker    # anywhere (entry.py is copied too)

Wrangler uploads every Python module under the directory of ``main``; this writes
``claude_arch/__init__.py`` (empty: the real one imports CPython-only code) and
``claude_arch/edge/<module>.py`` for each of :data:`WORKER_MODULES`, so ``entry.py`` imports
``claude_arch.edge`` as under CPython.

    >>> "handler" in WORKER_MODULES and "serve" not in WORKER_MODULES
    True
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["ENTRY_PY", "WORKER_DIR", "WORKER_MODULES", "build_bundle", "bundle_size"]

WORKER_MODULES = (
    "__init__",
    "cache",
    "config",
    "cors",
    "handler",
    "keys",
    "limits",
    "on_workers",
    "platform",
    "problems",
    "protocol_data",
    "validate",
)
"""The standard-library-only modules of :mod:`claude_arch.edge` the worker needs."""

_EDGE = Path(__file__).resolve().parents[1]  # claude_arch/edge: the worker's modules
WORKER_DIR = _EDGE.parents[2] / "deploy" / "cloudflare-worker"
"""The worker's directory in a checkout of the repository (wrangler.toml, src/entry.py)."""
ENTRY_PY = WORKER_DIR / "src" / "entry.py"
_PACKAGE_INIT = '"""claude_arch as uploaded to a Cloudflare Worker: only claude_arch.edge."""\n'


def build_bundle(out: Path, *, entry: Path | None = ENTRY_PY) -> list[Path]:
    """Write the worker's Python files under ``out`` (and ``entry`` as ``out/entry.py`` unless
    it is already there or None); returns the files written, ``entry.py`` first."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if entry is not None and entry.resolve() != (out / "entry.py").resolve():
        shutil.copyfile(entry, out / "entry.py")
    if (out / "entry.py").exists():
        written.append(out / "entry.py")
    package = out / "claude_arch"
    edge = package / "edge"
    edge.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(_PACKAGE_INIT, "utf-8")
    written.append(package / "__init__.py")
    for name in WORKER_MODULES:
        target = edge / f"{name}.py"
        shutil.copyfile(_EDGE / f"{name}.py", target)
        written.append(target)
    return written


def bundle_size(files: list[Path]) -> int:
    """The bytes of Python the worker uploads (before wrangler's compression)."""
    return sum(path.stat().st_size for path in files)
