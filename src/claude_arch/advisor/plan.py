"""Capacity planning for one variant: how many replicas, workers and concurrent calls the peak
needs (Little's law: concurrency = arrival rate x time in the system), Lambda concurrency, and the
month's bill line by line.

    >>> from claude_arch.advisor.profile import profile_from_mapping
    >>> from claude_arch.advisor.sources import default_sources
    >>> p = profile_from_mapping({"traffic": {"mean_rpm": 600, "peak_rpm": 1200},
    ...     "tokens": {"input": {"p50": 1000}, "output": {"p50": 400}},
    ...     "rate_limit_tier": "tier4", "models": ["claude-sonnet-5-5"]})
    >>> plan = plan_variant(p, default_sources(), "service")
    >>> plan.concurrent_calls, plan.replicas
    (121, 2)
    >>> [line.item for line in plan.lines]
    ['model calls: claude-sonnet-5-5', 'service replicas', 'Redis', 'PostgreSQL']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from claude_arch.advisor.assumptions import InfraKind, Variant
from claude_arch.advisor.capacity import CapacityFit, capacity_fit
from claude_arch.advisor.cost import api_cost, cents, model_cost
from claude_arch.advisor.demand import drain_rpm, monthly_minutes
from claude_arch.advisor.latency import call_seconds
from claude_arch.advisor.profile import WorkloadProfile
from claude_arch.advisor.sources import Sources

__all__ = ["BillLine", "Plan", "plan_variant"]


@dataclass(frozen=True)
class BillLine:
    """One line of the month's bill: ``quantity`` ``unit`` at ``unit_usd`` each."""

    item: str
    quantity: float
    unit: str
    unit_usd: Decimal
    usd: Decimal
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "item": self.item,
            "quantity": round(self.quantity, 3),
            "unit": self.unit,
            "unit_usd": float(self.unit_usd),
            "usd": float(self.usd),
            "note": self.note,
        }


@dataclass(frozen=True)
class Plan:
    """What ``variant`` needs for the profile's peak, and what it costs a month."""

    variant: str
    concurrent_calls: int
    """Model calls in flight at the rate the variant must hold (the peak, or a queue's drain)."""
    replicas: int = 0
    hosts: int = 0
    workers: int = 0
    lambda_concurrency: int = 0
    capacity: CapacityFit | None = None
    lines: list[BillLine] = field(default_factory=list)
    ops_hours: float = 0.0
    ops_usd: Decimal = Decimal(0)

    @property
    def bill_usd(self) -> Decimal:
        """The month's bill: the model calls and the infrastructure."""
        return sum((line.usd for line in self.lines), Decimal(0))

    @property
    def infra_usd(self) -> Decimal:
        return sum((line.usd for line in self.lines if line.unit != "calls"), Decimal(0))

    def to_dict(self) -> dict[str, object]:
        return {
            "variant": self.variant,
            "concurrent_calls": self.concurrent_calls,
            "replicas": self.replicas,
            "hosts": self.hosts,
            "workers": self.workers,
            "lambda_concurrency": self.lambda_concurrency,
            "capacity": None if self.capacity is None else self.capacity.to_dict(),
            "lines": [line.to_dict() for line in self.lines],
            "bill_usd": float(self.bill_usd),
            "ops_hours": self.ops_hours,
            "ops_usd": float(self.ops_usd),
        }


def _each(usd: Decimal, count: float, item: str, unit: str, note: str = "") -> BillLine:
    return BillLine(item, count, unit, usd, cents(usd * Decimal(repr(count))), note)


def _infra_line(
    kind: InfraKind, profile: WorkloadProfile, sources: Sources, counts: dict[str, int]
) -> BillLine:
    infra = sources.assumptions.infra
    container = infra["container"].usd_per_month
    minutes = monthly_minutes(sources)
    requests = profile.traffic.mean_rpm * minutes
    if kind in ("replicas", "hosts", "workers", "submitter"):
        label = {
            "replicas": "service replicas",
            "hosts": "app hosts (routing in process)",
            "workers": "queue workers",
            "submitter": "batch submitter and poller",
        }[kind]
        return _each(container, counts[kind], label, "containers", infra["container"].what)
    if kind == "redis":
        return _each(infra["redis"].usd_per_month, 1, "Redis", "instance", infra["redis"].what)
    if kind == "postgres":
        pg = infra["postgres"]
        return _each(pg.usd_per_month, 1, "PostgreSQL", "instance", pg.what)
    if kind == "lambda":
        fn = infra["lambda"]
        seconds = counts["lambda_ms"] / 1000
        gb_s = requests * seconds * float(fn.memory_gb)
        usd = Decimal(repr(round(gb_s, 3))) * fn.usd_per_gb_second
        usd += Decimal(repr(round(requests / 1e6, 6))) * fn.usd_per_million_requests
        note = (
            f"{requests:,.0f} invocations of {seconds:.2f} s at {fn.memory_gb} GB: "
            f"{gb_s:,.0f} GB-s; the function is billed while it waits for the model"
        )
        return BillLine("Lambda", requests, "invocations", Decimal(0), cents(usd), note)
    edge = infra["edge"]
    over = max(0.0, requests / 1e6 - edge.included_million_requests)
    usd = edge.usd_per_month + Decimal(repr(round(over, 6))) * edge.usd_per_million_requests
    note = f"{requests:,.0f} requests; {edge.included_million_requests:g} M included"
    return BillLine("edge functions", requests, "requests", Decimal(0), cents(usd), note)


def _sized(variant: Variant, profile: WorkloadProfile, sources: Sources) -> dict[str, int]:
    cap = sources.assumptions.capacity
    _, _, total50, _ = call_seconds(profile, sources)
    steps = profile.traffic.steps_per_request
    rate = drain_rpm(profile) if variant.asynchronous else profile.traffic.peak
    in_flight = math.ceil(rate * steps / 60 * total50)
    per_s = rate * steps / 60
    util = cap.target_utilisation
    replicas = max(
        cap.min_replicas,
        math.ceil(in_flight / (cap.streams_per_replica * util)),
        math.ceil(per_s / (cap.requests_per_s_per_replica * util)),
    )
    lambda_ms = steps * total50 * 1000 + variant.overhead_ms.p50
    return {
        "in_flight": 0 if variant.batch else in_flight,
        "replicas": replicas,
        "hosts": replicas,
        "workers": max(cap.min_workers, math.ceil(in_flight / (cap.calls_per_worker * util))),
        "submitter": 1,
        "lambda_ms": round(lambda_ms),
        "lambda_concurrency": math.ceil(profile.traffic.peak / 60 * lambda_ms / 1000),
    }


def plan_variant(profile: WorkloadProfile, sources: Sources, variant_id: str) -> Plan:
    """The plan of ``variant_id`` (a variant or a combination) for ``profile``."""
    a = sources.assumptions
    variant = a.variant(variant_id)
    counts = _sized(variant, profile, sources)
    usd, saved = api_cost(profile, sources, batch=variant.batch, routing=variant.routing)
    own = model_cost(profile, sources, profile.model)
    how = ["Message Batches" if variant.batch else "list price"]
    if own.cached_usd is not None and own.cached_usd < own.standard_usd:
        how.append("prompt caching")
    lines = [
        BillLine(
            f"model calls: {profile.model}",
            own.calls,
            "calls",
            Decimal(0),
            usd + saved,
            ", ".join(how),
        )
    ]
    if saved:
        lines.append(
            BillLine(
                "routing saving (measured ratio)",
                own.calls,
                "calls",
                Decimal(0),
                -saved,
                f"{a.routing.balanced_model} x {a.routing.cost_ratio:.3f}: {a.routing.source}",
            )
        )
    lines.extend(_infra_line(kind, profile, sources, counts) for kind in variant.infra)
    return Plan(
        variant=variant.id,
        concurrent_calls=counts["in_flight"],
        replicas=counts["replicas"] if "replicas" in variant.infra else 0,
        hosts=counts["hosts"] if "hosts" in variant.infra else 0,
        workers=counts["workers"] if "workers" in variant.infra else 0,
        lambda_concurrency=counts["lambda_concurrency"] if "lambda" in variant.infra else 0,
        capacity=capacity_fit(profile, sources, variant),
        lines=lines,
        ops_hours=variant.ops_hours,
        ops_usd=cents(a.workload.engineer_usd_per_hour * Decimal(repr(variant.ops_hours))),
    )
