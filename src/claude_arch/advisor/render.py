"""Present advice and plans: a rich table for the terminal (narrower ones drop columns),
tab-separated rows for a pipe, Markdown for design documents.

>>> from claude_arch.advisor.profile_file import profile_from_data
>>> from claude_arch.advisor.advise import advise
>>> p = profile_from_data({"traffic": {"mean_rpm": 20},
...     "tokens": {"input": {"p50": 800}, "output": {"p50": 200}},
...     "delay_tolerance": "1m", "rate_limit_tier": "tier2", "models": ["claude-haiku-5-5"]})
>>> advice_markdown(advise(p)).splitlines()[0]
'## Advice for workload: **serverless** (runner-up: pipeline)'
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from claude_arch.advisor.advise import Advice, Scored
from claude_arch.advisor.plan import Plan
from claude_arch.tables import picked_table, tsv

__all__ = [
    "NARROW_HEAD",
    "WIDE_TABLE",
    "advice_markdown",
    "advice_table",
    "advice_tsv",
    "duration",
    "plan_markdown",
    "plan_table",
    "plan_tsv",
]

_HEAD = (
    "variant",
    "fit",
    "TTFT p95",
    "total p95",
    "bill $/mo",
    "all in $/mo",
    "capacity",
    "complexity",
    "latency",
)
NARROW_HEAD = ("variant", "fit", "TTFT p95", "total p95", "all in $/mo", "complexity")
"""The columns kept on a terminal under :data:`WIDE_TABLE` columns (80 fits them)."""
WIDE_TABLE = 110


def duration(seconds: float) -> str:
    """A time in the unit that keeps it short: ms under a second, then s, min, h.

    >>> duration(0.861), duration(16.89), duration(1612.0), duration(86416.9)
    ('861 ms', '16.9 s', '26.9 min', '24.0 h')
    """
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:,.1f} h"


def _row(s: Scored) -> tuple[str, ...]:
    cap = s.plan.capacity
    lat = s.latency
    capacity = "-" if cap is None else "holds" if cap.fits else (cap.needs_tier or "no tier")
    return (
        s.variant.id,
        "yes" if s.fit else "no",
        duration(lat.ttft_p95_ms / 1000),
        duration(lat.total_p95_s),
        f"{s.plan.bill_usd:,.0f}",
        f"{s.total_usd:,.0f}",
        capacity,
        s.complexity,
        "measured" if s.variant.measured else "estimate",
    )


def advice_table(advice: Advice, *, narrow: bool = False) -> Table:
    """Every variant, best first, with its latency, costs, capacity and complexity;
    ``narrow``: only :data:`NARROW_HEAD`'s columns, none of them wrapped."""
    rows = (
        (_row(s), "bold green" if s.variant.id == advice.recommended else None)
        for s in advice.ranked
    )
    table = picked_table(
        _HEAD,
        NARROW_HEAD if narrow else _HEAD,
        rows,
        box=box.SIMPLE,
        title=f"advice for {advice.profile.name}",
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    if narrow:
        table.caption = f"bill, capacity, latency source: {WIDE_TABLE}+ columns, or --json"
        table.caption_justify = "left"
    return table


def advice_tsv(advice: Advice) -> str:
    """A header and one tab-separated row per variant, best first (no thousands separators)."""
    return tsv(_HEAD, (_row(s) for s in advice.ranked), numbers=True)


def advice_markdown(advice: Advice) -> str:
    """The advice as a Markdown section: the choice, why, every variant, costs per model."""
    lines = [
        f"## Advice for {advice.profile.name}: **{advice.recommended}** "
        f"(runner-up: {advice.runner_up})",
        "",
        *(f"- {reason}" for reason in advice.reasons),
    ]
    if advice.capacity_note:
        lines.append(f"- capacity: {advice.capacity_note}")
    lines += ["", "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    lines += ["| " + " | ".join(_row(s)) + " |" for s in advice.ranked]
    lines += [
        "",
        "| model | calls/month | list $ | with caching $ | batch $ |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in advice.models:
        cached = "-" if m.cached_usd is None else f"{m.cached_usd:,.2f}"
        lines.append(
            f"| {m.model} | {m.calls:,} | {m.standard_usd:,.2f} | {cached} | {m.batch_usd:,.2f} |"
        )
    lines += ["", "Problems of the variants that are not fit:", ""]
    lines += [f"- {s.variant.id}: {'; '.join(s.problems)}" for s in advice.ranked if s.problems]
    return "\n".join(lines) + "\n"


def _sizing(plan: Plan) -> list[tuple[str, str]]:
    rows = [("concurrent model calls at the peak", str(plan.concurrent_calls))]
    for label, value in (
        ("service replicas", plan.replicas),
        ("app hosts", plan.hosts),
        ("queue workers", plan.workers),
        ("Lambda concurrency", plan.lambda_concurrency),
    ):
        if value:
            rows.append((label, str(value)))
    cap = plan.capacity
    if cap is not None:
        for key in cap.demand:
            label = "batch requests waiting" if key == "batch_queue" else f"{key} per minute"
            rows.append(
                (f"{label}: needed / allowed", f"{cap.demand[key]:,.0f} / {cap.allowed[key]:,.0f}")
            )
    return rows


def plan_table(plan: Plan) -> tuple[Table, Table]:
    """The sizing and the month's bill line by line."""
    sizing = Table("capacity", "value", box=box.SIMPLE, title=f"plan for {plan.variant}")
    for row in _sizing(plan):
        sizing.add_row(*row)
    bill = Table("item", "quantity", "USD/month", "note", box=box.SIMPLE)
    for line in plan.lines:
        bill.add_row(line.item, f"{line.quantity:,.0f} {line.unit}", f"{line.usd:,.2f}", line.note)
    bill.add_row("bill", "", f"{plan.bill_usd:,.2f}", "", style="bold")
    bill.add_row("operations", f"{plan.ops_hours:g} h", f"{plan.ops_usd:,.2f}", "assumption")
    return sizing, bill


def plan_tsv(plan: Plan) -> str:
    """The plan as two tab-separated tables (the sizing, then the bill), a blank line between."""
    sizing = ((a, b.replace(",", "")) for a, b in _sizing(plan))
    bill = [(ln.item, f"{ln.quantity:.0f}", ln.unit, f"{ln.usd:.2f}", ln.note) for ln in plan.lines]
    bill.append(("bill", "", "", f"{plan.bill_usd:.2f}", ""))
    bill.append(("operations", f"{plan.ops_hours:g}", "h", f"{plan.ops_usd:.2f}", "assumption"))
    head = ("item", "quantity", "unit", "USD/month", "note")
    return tsv(("capacity", "value"), sizing) + "\n" + tsv(head, bill)


def plan_markdown(plan: Plan) -> str:
    """The plan as a Markdown section."""
    lines = [f"## Plan for {plan.variant}", "", "| capacity | value |", "|---|---:|"]
    lines += [f"| {a} | {b} |" for a, b in _sizing(plan)]
    lines += ["", "| item | quantity | USD/month | note |", "|---|---:|---:|---|"]
    lines += [
        f"| {ln.item} | {ln.quantity:,.0f} {ln.unit} | {ln.usd:,.2f} | {ln.note} |"
        for ln in plan.lines
    ]
    lines.append(f"| **bill** | | **{plan.bill_usd:,.2f}** | |")
    lines.append(f"| operations | {plan.ops_hours:g} h | {plan.ops_usd:,.2f} | assumption |")
    return "\n".join(lines) + "\n"
