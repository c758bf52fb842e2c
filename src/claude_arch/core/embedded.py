"""The embedded emulator: what a client talks to when no API key and no base URL are set.

Started once per process, in a background thread, on a free 127.0.0.1 port, and announced with
one log line on the ``claude_arch`` logger. Every client of the process shares it.

Core never imports the emulator: :data:`EMULATOR_HOOK` names the function that starts it, loaded
by name on first use, so a process with a key (a Lambda, the edge) imports no emulator code. The
hook is called as ``start(speed=...)`` and returns an object with ``.url`` and ``.close()``.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from claude_arch.constants import ENV_API_KEY

if TYPE_CHECKING:
    from claude_arch.core.client_core import ClientCore

__all__ = ["EMULATOR_HOOK", "embedded_emulator_url"]

EMULATOR_HOOK = "claude_arch.testing:start_embedded_at"
"""``module:function`` that starts the embedded emulator (the one place core names it)."""

_log = logging.getLogger("claude_arch")
_lock = threading.Lock()
_running: dict[str, Any] = {}


def embedded_emulator_url(core: ClientCore) -> str:
    """The base URL of the process's embedded emulator, starting it on first use."""
    with _lock:
        if "server" not in _running:
            module, _, function = EMULATOR_HOOK.partition(":")
            start = getattr(importlib.import_module(module), function)
            server = start(speed=core.settings.emulator_speed)
            _running["server"] = server
            atexit.register(server.close)  # stop serving cleanly before the interpreter goes
            _log.warning(
                "No %s set: using the embedded emulator at %s (responses are synthetic)",
                ENV_API_KEY,
                server.url,
            )
        return str(_running["server"].url)
