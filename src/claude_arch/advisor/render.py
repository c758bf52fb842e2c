"""Present advice and plans: a rich table for the terminal, Markdown for design documents.

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

__all__ = ["advice_markdown", "advice_table", "plan_markdown", "plan_table"]

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


def _row(s: Scored) -> tuple[str, ...]:
    cap = s.plan.capacity
    lat = s.latency
    capacity = "-" if cap is None else "holds" if cap.fits else (cap.needs_tier or "no tier")
    return (
        s.variant.id,
        "yes" if s.fit else "no",
        f"{lat.ttft_p95_ms:,.0f} ms",
        f"{lat.total_p95_s:,.1f} s",
        f"{s.plan.bill_usd:,.0f}",
        f"{s.total_usd:,.0f}",
        capacity,
        s.complexity,
        "measured" if s.variant.measured else "estimate",
    )


def advice_table(advice: Advice) -> Table:
    """Every variant, best first, with its latency, costs, capacity and complexity."""
    table = Table(box=box.SIMPLE, title=f"advice for {advice.profile.name}")
    for name in _HEAD:
        table.add_column(name, no_wrap=name == "variant")
    for s in advice.ranked:
        style = "bold green" if s.variant.id == advice.recommended else None
        table.add_row(*_row(s), style=style)
    return table


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
