"""What the advisor assumes beyond the catalog and the latency model: ``assumptions.toml``.

    >>> a = default_assumptions()
    >>> a.variant("service").measured, a.variant("service+orchestrator").parts
    (True, ('service', 'orchestrator'))
    >>> a.variant("pipeline-batch").built
    'built: src/claude_arch/pipeline (pipeline run --mode batch)'

A combination's overheads add up, its infrastructure is the union of its parts', and it streams
only if every synchronous part does.
"""

from __future__ import annotations

import functools
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claude_arch.errors import ConfigError

__all__ = [
    "Assumptions",
    "InfraItem",
    "Variant",
    "default_assumptions",
]

InfraKind = Literal[
    "lambda", "replicas", "hosts", "workers", "submitter", "redis", "postgres", "edge"
]
"""What a variant runs on; replicas, hosts, workers and the submitter are containers."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Overhead(_Data):
    """Milliseconds a variant adds to a call: median, 99th percentile, and to the first token."""

    p50: Annotated[float, Field(ge=0)]
    p99: Annotated[float, Field(ge=0)]
    ttft: Annotated[float, Field(ge=0)]


class Percentiles(_Data):
    p50: Annotated[float, Field(ge=0)]
    p99: Annotated[float, Field(ge=0)]


class VariantData(_Data):
    title: str
    built: str
    measured: bool
    source: str
    overhead_ms: Overhead
    cold_start_ms: Percentiles | None = None
    keep_warm_s: Annotated[float, Field(gt=0)] | None = None
    streams: bool
    asynchronous: bool
    batch: bool = False
    routing: bool = False
    edge: bool = False
    ops_hours: Annotated[float, Field(ge=0)]
    infra: tuple[InfraKind, ...]
    failure: str


class CombinationData(_Data):
    parts: tuple[str, ...]
    ops_hours: Annotated[float, Field(ge=0)]
    failure: str


class Variant(_Data):
    """A variant or a combination (``id`` joined with ``+``), its parts' properties merged."""

    id: str
    title: str
    parts: tuple[str, ...]
    built: str
    measured: bool
    source: str
    overhead_ms: Overhead
    cold_start_ms: Percentiles | None
    keep_warm_s: float | None
    streams: bool
    asynchronous: bool
    batch: bool
    routing: bool
    edge: bool
    ops_hours: float
    infra: tuple[InfraKind, ...]
    failure: str


class InfraItem(_Data):
    """The unit price of one kind of infrastructure (USD)."""

    what: str
    usd_per_month: Decimal = Decimal(0)
    usd_per_million_requests: Decimal = Decimal(0)
    usd_per_gb_second: Decimal = Decimal(0)
    memory_gb: Decimal = Decimal(0)
    included_million_requests: Annotated[float, Field(ge=0)] = 0


class WorkloadData(_Data):
    days_per_month: Annotated[int, Field(gt=0)]
    cache_ttl_minutes: Annotated[float, Field(gt=0)]
    cache_min_tokens: dict[str, int]
    engineer_usd_per_hour: Decimal


class CapacityData(_Data):
    target_utilisation: Annotated[float, Field(gt=0, le=1)]
    streams_per_replica: Annotated[int, Field(gt=0)]
    requests_per_s_per_replica: Annotated[float, Field(gt=0)]
    min_replicas: Annotated[int, Field(ge=1)]
    calls_per_worker: Annotated[int, Field(gt=0)]
    min_workers: Annotated[int, Field(ge=1)]
    lambda_concurrency_limit: Annotated[int, Field(gt=0)]
    batch_queue_limit: dict[str, int]
    batch_typical_s: Annotated[float, Field(gt=0)]
    batch_max_s: Annotated[float, Field(gt=0)]


class NetworkData(_Data):
    near_rtt_ms: Annotated[float, Field(ge=0)]
    far_rtt_ms: Annotated[float, Field(ge=0)]


class RoutingData(_Data):
    routed_usd: Decimal
    always_balanced_usd: Decimal
    balanced_model: str
    decision_ms: Percentiles
    mix: dict[str, float]
    source: str

    @property
    def cost_ratio(self) -> Decimal:
        """Routed cost as a share of sending everything to the balanced model."""
        return self.routed_usd / self.always_balanced_usd


class Assumptions(_Data):
    """The whole ``assumptions.toml``; :meth:`variant` gives a variant or combination by id."""

    workload: WorkloadData
    capacity: CapacityData
    infra: dict[str, InfraItem]
    network: NetworkData
    routing: RoutingData
    variants: dict[str, VariantData] = Field(alias="variant")
    combinations: dict[str, CombinationData] = Field(alias="combination")

    @property
    def ids(self) -> tuple[str, ...]:
        """Every variant id, then every combination id, in file order."""
        return (*self.variants, *self.combinations)

    def variant(self, variant_id: str) -> Variant:
        """The variant or combination ``variant_id``; :class:`ConfigError` names the known ones."""
        if variant_id in self.variants:
            return _single(variant_id, self.variants[variant_id])
        combo = self.combinations.get(variant_id)
        if combo is None:
            raise ConfigError(
                f"unknown variant {variant_id!r}; expected one of {', '.join(self.ids)}"
            )
        return _combined(variant_id, combo, [self.variants[p] for p in combo.parts])

    @classmethod
    def load(cls, path: Path | str | None = None) -> Assumptions:
        """Read an assumptions file (the packaged one when no path is given)."""
        if path is None:
            text = resources.files("claude_arch.advisor").joinpath("assumptions.toml")
            raw = text.read_text("utf-8")
        else:
            raw = Path(path).read_text("utf-8")
        where = path or "assumptions.toml"
        try:
            loaded = cls.model_validate(tomllib.loads(raw))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ConfigError(f"advisor assumptions {where} are malformed: {exc}") from exc
        for combo_id, combo in loaded.combinations.items():
            unknown = [p for p in combo.parts if p not in loaded.variants]
            if unknown or combo_id != "+".join(combo.parts):
                raise ConfigError(
                    f"advisor assumptions {where}: combination {combo_id!r} must join known "
                    "variants with '+'"
                )
        return loaded


def _single(variant_id: str, v: VariantData) -> Variant:
    return Variant(id=variant_id, parts=(variant_id,), **v.model_dump())


def _combined(variant_id: str, combo: CombinationData, parts: list[VariantData]) -> Variant:
    synchronous = [p for p in parts if not p.asynchronous]
    infra: list[InfraKind] = []
    for p in parts:
        infra.extend(k for k in p.infra if k not in infra)
    # routing runs in the host that takes the request: its own hosts are not needed
    if len(parts) > 1 and any(not p.routing for p in parts) and "hosts" in infra:
        infra.remove("hosts")
    colds = [p.cold_start_ms for p in parts if p.cold_start_ms is not None]
    return Variant(
        id=variant_id,
        title=" + ".join(p.title for p in parts),
        parts=combo.parts,
        built="; ".join(f"{name}: {p.built}" for name, p in zip(combo.parts, parts, strict=True)),
        measured=all(p.measured for p in parts),
        source="; ".join(p.source for p in parts),
        overhead_ms=Overhead(
            p50=sum(p.overhead_ms.p50 for p in parts),
            p99=sum(p.overhead_ms.p99 for p in parts),
            ttft=sum(p.overhead_ms.ttft for p in parts),
        ),
        cold_start_ms=colds[0] if colds else None,
        keep_warm_s=next((p.keep_warm_s for p in parts if p.keep_warm_s), None),
        streams=bool(synchronous)
        and all(p.streams for p in synchronous)
        and not any(p.asynchronous for p in parts),
        asynchronous=any(p.asynchronous for p in parts),
        batch=any(p.batch for p in parts),
        routing=any(p.routing for p in parts),
        edge=any(p.edge for p in parts),
        ops_hours=combo.ops_hours,
        infra=tuple(infra),
        failure=combo.failure,
    )


@functools.cache
def default_assumptions() -> Assumptions:
    """The packaged assumptions, loaded once per process."""
    return Assumptions.load()
