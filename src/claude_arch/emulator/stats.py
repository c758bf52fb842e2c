"""What the emulator saw: requests, tokens, errors and faults, by model and by API key.

    >>> stats = ServerStats()
    >>> stats.add("claude-haiku-4-5", "key_ab12", requests=1, input_tokens=12, output_tokens=3)
    >>> stats.snapshot()["by_model"]["claude-haiku-4-5"]["output_tokens"]
    3

Benchmarks compare these totals with what a client claims it sent and received. Keys appear only
as a short hash (``key_…``), never in clear. ``stream_stop_ms`` holds, for each stream the client
abandoned, the time from noticing the disconnect to the generator having stopped.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

__all__ = ["ServerStats"]

_KEEP_STOP_TIMES = 1000
MAX_KEYS = 10_000
"""Keys counted one by one; any further key is counted under ``OTHER_KEYS``."""
OTHER_KEYS = "key_other"


class ServerStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total: Counter[str] = Counter()
            self._by_model: dict[str, Counter[str]] = {}
            self._by_key: dict[str, Counter[str]] = {}
            self._by_endpoint: dict[str, Counter[str]] = {}
            self._stop_ms: deque[float] = deque(maxlen=_KEEP_STOP_TIMES)

    def add(self, model: str, key_id: str, **counts: int) -> None:
        """Add ``counts`` (e.g. ``requests=1, output_tokens=40``) to the totals, model and key."""
        counts = {name: n for name, n in counts.items() if n}  # zero would show a key never hit
        with self._lock:
            by_model = self._by_model.get(model)
            if by_model is None:
                by_model = self._by_model[model] = Counter()
            by_key = self._by_key.get(key_id)
            if by_key is None:
                # A load test with a fresh key per request must not grow this without bound.
                if len(self._by_key) >= MAX_KEYS:
                    key_id = OTHER_KEYS
                by_key = self._by_key.setdefault(key_id, Counter())
            self._total.update(counts)
            by_model.update(counts)
            by_key.update(counts)

    def endpoint(self, endpoint: str, **counts: int) -> None:
        """Count on one API (``anthropic``, ``bedrock``, ``vertex``): which provider served."""
        with self._lock:
            self._by_endpoint.setdefault(endpoint, Counter()).update(counts)

    def error(self, status: int) -> None:
        """Count an error answer (``errors_429`` …) in the totals; its model may be unknown."""
        with self._lock:
            self._total[f"errors_{status}"] += 1

    def stream_stopped_after(self, seconds: float) -> None:
        with self._lock:
            self._stop_ms.append(seconds * 1000.0)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy: ``totals``, ``by_model``, ``by_key``, ``by_endpoint``,
        ``stream_stop_ms``."""
        with self._lock:
            return {
                "totals": dict(self._total),
                "by_model": {m: dict(c) for m, c in self._by_model.items()},
                "by_key": {k: dict(c) for k, c in self._by_key.items()},
                "by_endpoint": {e: dict(c) for e, c in self._by_endpoint.items()},
                "stream_stop_ms": list(self._stop_ms),
            }
