"""A TTL + LRU cache of verdicts, keyed by the text a classifier was shown.

>>> from claude_arch.testing import ManualClock
>>> clock = ManualClock()
>>> cache = DecisionCache(size=2, ttl_s=60, clock=clock)
>>> cache.put("a", 1); cache.put("b", 2); cache.get("a"); cache.put("c", 3)
1
>>> cache.get("b") is None, cache.get("c")       # b was least recently used
(True, 3)
>>> clock.advance(61); cache.get("c") is None
True
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["DecisionCache"]

V = TypeVar("V")


class DecisionCache(Generic[V]):
    """At most ``size`` entries, each for ``ttl_s`` seconds; thread-safe."""

    def __init__(
        self, *, size: int = 4096, ttl_s: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, text: str) -> V | None:
        key = self._key(text)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if self.clock() - item[0] > self.ttl_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, text: str, value: V) -> None:
        if self.size <= 0:
            return
        key = self._key(text)
        with self._lock:
            self._items[key] = (self.clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
