"""The embedded emulator: what a client talks to when no API key and no base URL are set.

Started once per process, in a background thread, on a free 127.0.0.1 port, and announced with
one log line on the ``claude_arch`` logger. Every client of the process shares it.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import TYPE_CHECKING, Any

from claude_arch.constants import ENV_API_KEY

if TYPE_CHECKING:
    from claude_arch.core.client_core import ClientCore

__all__ = ["embedded_emulator_url"]

_log = logging.getLogger("claude_arch")
_lock = threading.Lock()
_running: dict[str, Any] = {}


def embedded_emulator_url(core: ClientCore) -> str:
    """The base URL of the process's embedded emulator, starting it on first use."""
    with _lock:
        if "server" not in _running:
            from claude_arch.testing import EmulatorConfig, start_embedded

            server = start_embedded(EmulatorConfig(port=0, speed=core.settings.emulator_speed))
            _running["server"] = server
            atexit.register(server.close)  # stop serving cleanly before the interpreter goes
            _log.warning(
                "No %s set: using the embedded emulator at %s (responses are synthetic)",
                ENV_API_KEY,
                server.url,
            )
        return str(_running["server"].url)
