"""LiteLLM's proxy in a venv of its own, created on first use (never in the repo).

    litellm_venv() / "bin" / "litellm"

Its dependencies (hundreds of MiB) must not touch the project's venv; the version is pinned so
runs compare like with like.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LITELLM_VERSION = "1.108.7"


def litellm_venv() -> Path:
    """``$XDG_CACHE_HOME/claude-arch-bench/litellm-venv`` with LiteLLM's proxy (never the repo)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "claude-arch-bench" / "litellm-venv"
    litellm_bin = venv / "bin" / "litellm"
    marker = venv / f".litellm-{LITELLM_VERSION}"
    if litellm_bin.exists() and marker.exists():
        return venv
    print(f"installing litellm[proxy]=={LITELLM_VERSION} into {venv} (once)", flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, f"litellm[proxy]=={LITELLM_VERSION}"], check=True)
    marker.touch()
    return venv
