"""The dashboard's charts: per-minute buckets of the last hour, per model, in bounded memory.

    series = MinuteSeries()
    series.add(model="claude-haiku-4-5", record=record, now=time.time())   # one call
    series.window(minutes=15, series=5, now=time.time())                   # JSON-ready

Memory is bounded whatever the traffic: at most :data:`HISTORY_MINUTES` minutes, each with one
bucket per model label (catalog IDs and ``other``: the caller's labels are already bounded) and
per error type, and at most :data:`SAMPLES_PER_MINUTE` latency and TTFT samples per bucket
(reservoir sampling, so a busy minute's percentiles stay unbiased). What :meth:`window` returns is
bounded too: ``minutes`` is clamped to 1..HISTORY_MINUTES and ``series`` (models, error types) to
1..:data:`MAX_SERIES`, the busiest first.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from claude_arch.core.types import UsageRecord

__all__ = [
    "HISTORY_MINUTES",
    "MAX_SERIES",
    "MINUTE_S",
    "SAMPLES_PER_MINUTE",
    "MinuteSeries",
    "bounded_int",
]

MINUTE_S = 60
HISTORY_MINUTES = 60
MAX_SERIES = 12
"""The most models (and error types) one answer of :meth:`MinuteSeries.window` carries."""
SAMPLES_PER_MINUTE = 128
"""Latency (and TTFT) samples kept per model and minute."""


def bounded_int(raw: str | None, *, default: int, low: int, high: int) -> int:
    """``raw`` as an integer clamped to ``low..high``; ``default`` when it is no integer.

    >>> bounded_int("5", default=60, low=1, high=60), bounded_int("1e9", default=60, low=1, high=60)
    (5, 60)
    >>> bounded_int("-3", default=60, low=1, high=60), bounded_int(None, default=7, low=1, high=60)
    (1, 7)
    """
    text = (raw or "").strip()
    if not text or len(text) > 12 or not text.lstrip("+-").isdigit() or not text.isascii():
        return default
    return max(low, min(high, int(text)))


class _Reservoir:
    """At most ``size`` samples, each of the ``seen`` values equally likely to be kept."""

    __slots__ = ("samples", "seen", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.samples: list[float] = []
        self.seen = 0

    def add(self, value: float, rng: random.Random) -> None:
        self.seen += 1
        if len(self.samples) < self.size:
            self.samples.append(value)
        else:
            slot = rng.randrange(self.seen)
            if slot < self.size:
                self.samples[slot] = value

    def percentiles(self) -> tuple[float | None, float | None]:
        """(p50, p99) in ms, nearest-rank; (None, None) without samples."""
        ordered = sorted(self.samples)
        if not ordered:
            return None, None
        return _ms(_rank(ordered, 50)), _ms(_rank(ordered, 99))


def _rank(ordered: list[float], p: int) -> float:
    return ordered[max(1, -(-p * len(ordered) // 100)) - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


@dataclass
class _Bucket:
    requests: int = 0
    errors: int = 0
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency: _Reservoir = field(default_factory=lambda: _Reservoir(SAMPLES_PER_MINUTE))
    ttft: _Reservoir = field(default_factory=lambda: _Reservoir(SAMPLES_PER_MINUTE))


@dataclass
class _Minute:
    index: int  # minutes since the epoch
    models: dict[str, _Bucket] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


class MinuteSeries:
    """The last hour, minute by minute; not thread-safe (the :class:`Dashboard` locks).

    >>> from claude_arch.core.types import Usage, UsageRecord
    >>> series = MinuteSeries()
    >>> rec = UsageRecord(model="claude-haiku-4-5", usage=Usage(10, 5), latency_s=0.2)
    >>> series.add("claude-haiku-4-5", None, rec, now=120.0)
    >>> out = series.window(minutes=2, series=3, now=150.0)
    >>> out["times"], out["models"], out["tokens_per_s"]["claude-haiku-4-5"]
    ([60, 120], ['claude-haiku-4-5'], [None, 0.5])
    """

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self._minutes: deque[_Minute] = deque(maxlen=HISTORY_MINUTES)
        self._rng = rng or random.Random()

    def add(self, model: str, error_type: str | None, record: UsageRecord, *, now: float) -> None:
        """Count ``record`` under ``model`` (and ``error_type`` when it failed) at ``now``."""
        minute = self._minute(int(now // MINUTE_S))
        bucket = minute.models.get(model)
        if bucket is None:
            bucket = minute.models[model] = _Bucket()
        bucket.requests += 1
        bucket.tokens += record.usage.input_tokens + record.usage.output_tokens
        bucket.cost_usd += record.cost_usd
        if error_type is not None:
            bucket.errors += 1
            minute.errors[error_type] = minute.errors.get(error_type, 0) + 1
        elif record.error_type is None and record.operation != "count_tokens":
            bucket.latency.add(record.latency_s, self._rng)
            if record.ttft_s is not None:
                bucket.ttft.add(record.ttft_s, self._rng)

    def _minute(self, index: int) -> _Minute:
        if self._minutes and self._minutes[-1].index >= index:
            return self._minutes[-1]  # this minute, or a clock that stepped back: the latest
        minute = _Minute(index)
        self._minutes.append(minute)  # the oldest falls off: maxlen
        return minute

    def window(self, *, minutes: int, series: int, now: float) -> dict[str, Any]:
        """The last ``minutes`` minutes up to ``now`` (the current one partial), for at most
        ``series`` models and error types: every list has one value per minute, ``None`` where
        nothing was measured. Rates of the current minute are over its elapsed seconds."""
        minutes = max(1, min(HISTORY_MINUTES, minutes))
        series = max(1, min(MAX_SERIES, series))
        last = int(now // MINUTE_S)
        first = last - minutes + 1
        kept = {m.index: m for m in self._minutes if first <= m.index <= last}
        indexes = range(first, last + 1)
        seconds = [
            float(MINUTE_S) if i < last else max(1.0, now - last * MINUTE_S) for i in indexes
        ]
        models = _busiest(
            ((name, b.requests) for m in kept.values() for name, b in m.models.items()), series
        )
        error_types = _busiest(
            ((name, n) for m in kept.values() for name, n in m.errors.items()), series
        )

        def per_model(value: Callable[[_Bucket, float], Any]) -> dict[str, list[Any]]:
            out: dict[str, list[Any]] = {}
            for name in models:
                row: list[Any] = []
                for i, secs in zip(indexes, seconds, strict=True):
                    bucket = kept[i].models.get(name) if i in kept else None
                    row.append(None if bucket is None else value(bucket, secs))
                out[name] = row
            return out

        latency = per_model(lambda b, _s: _pair(b.latency))
        ttft = per_model(lambda b, _s: _pair(b.ttft))
        return {
            "minute_s": MINUTE_S,
            "minutes": minutes,
            "times": [i * MINUTE_S for i in indexes],
            "models": models,
            "error_types": error_types,
            "requests_per_s": per_model(lambda b, s: round(b.requests / s, 4)),
            "errors_per_s": {
                name: [
                    round(kept[i].errors.get(name, 0) / s, 4) if i in kept else None
                    for i, s in zip(indexes, seconds, strict=True)
                ]
                for name in error_types
            },
            "latency_ms": _split(latency),
            "ttft_ms": _split(ttft),
            "tokens_per_s": per_model(lambda b, s: round(b.tokens / s, 3)),
            "cost_usd_per_min": per_model(lambda b, _s: float(b.cost_usd)),
        }


def _pair(reservoir: _Reservoir) -> tuple[float | None, float | None]:
    return reservoir.percentiles()


def _split(rows: dict[str, list[Any]]) -> dict[str, dict[str, list[float | None]]]:
    """``{model: [(p50, p99) | None, ...]}`` as ``{model: {"p50": [...], "p99": [...]}}``."""
    return {
        name: {
            "p50": [None if v is None else v[0] for v in row],
            "p99": [None if v is None else v[1] for v in row],
        }
        for name, row in rows.items()
    }


def _busiest(counts: Iterable[tuple[str, int]], limit: int) -> list[str]:
    """The ``limit`` names with the largest totals, the largest first (ties by name)."""
    totals: dict[str, int] = {}
    for name, count in counts:
        totals[name] = totals.get(name, 0) + count
    return sorted(totals, key=lambda name: (-totals[name], name))[:limit]
