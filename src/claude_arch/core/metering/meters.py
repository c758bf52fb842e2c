"""The meter interface, and the two meters that need no backend: in memory and fan-out."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from claude_arch.core.types import UsageRecord

__all__ = ["Meter", "MultiMeter", "RecordingMeter"]

log = logging.getLogger("claude_arch.core.metering")


@runtime_checkable
class Meter(Protocol):
    """Anything that takes usage records: ``record`` is called once per finished call."""

    def record(self, record: UsageRecord) -> None: ...


@dataclass
class RecordingMeter:
    """Keeps every record in memory, for users' tests.

    >>> from claude_arch.core.types import Usage
    >>> meter = RecordingMeter()
    >>> meter.record(UsageRecord(model="claude-haiku-4-5", usage=Usage(10, 5)))
    >>> meter.total_tokens, len(meter.records)
    (15, 1)
    """

    records: list[UsageRecord] = field(default_factory=list)

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)

    @property
    def total_tokens(self) -> int:
        return sum(r.usage.input_tokens + r.usage.output_tokens for r in self.records)

    @property
    def total_cost(self) -> Decimal:
        return sum((r.cost_usd for r in self.records), start=Decimal(0))

    def clear(self) -> None:
        self.records.clear()


class MultiMeter:
    """Hands each record to several meters; one failing meter never breaks a call or the others."""

    def __init__(self, meters: Iterable[Meter] = ()) -> None:
        self.meters: list[Meter] = list(meters)

    def add(self, meter: Meter) -> None:
        self.meters.append(meter)

    def record(self, record: UsageRecord) -> None:
        for meter in self.meters:
            try:
                meter.record(record)
            except Exception:
                log.exception("meter %r failed on a usage record; metering continues", meter)
