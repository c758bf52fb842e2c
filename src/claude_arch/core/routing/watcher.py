"""Reload a policy file when it changes, keeping the last good policy when the new one is broken.

watcher = PolicyWatcher("routing.yaml")    # loads now: a broken file here raises PolicyError
...
policy = watcher.current()                 # re-reads the file when its mtime or size changed;
                                           # a broken edit is logged and the old policy kept
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from claude_arch.core.pricing.catalog import Catalog
from claude_arch.core.routing.errors import PolicyError
from claude_arch.core.routing.policy import Policy, load_policy

__all__ = ["PolicyWatcher"]

log = logging.getLogger("claude_arch.routing")


class PolicyWatcher:
    """Hold the current policy of ``path``; ``current()`` reloads it when the file changed."""

    def __init__(self, path: str | Path, catalog: Catalog | None = None) -> None:
        self.path = Path(path)
        self.catalog = catalog
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._policy = load_policy(self.path, catalog)
        self.last_error: PolicyError | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def current(self) -> Policy:
        """The policy in force, reloaded first if the file changed since the last look."""
        stamp = self._stat()
        if stamp == self._stamp:
            return self._policy
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self.reload()
        return self._policy

    def reload(self) -> bool:
        """Load the file now; on failure log it, keep the last good policy and return False."""
        try:
            policy = load_policy(self.path, self.catalog)
        except PolicyError as exc:
            self.last_error = exc
            log.error("routing policy not reloaded, keeping %r: %s", self._policy.name, exc)
            return False
        self._policy = policy
        self.last_error = None
        log.info("routing policy reloaded from %s", self.path)
        return True
