"""The benchmark as a terminal table (fits 100 columns; 80 without the tail columns), as
tab-separated rows for a pipe, and as Markdown.

console.print(report_table(report, narrow=console.width < WIDE_TABLE))
print(report_tsv(report), end="")     # piped
print(report_markdown(report))        # what docs/selection-guide.md shows
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from claude_arch.advisor.measure.report import BenchReport, VariantResult
from claude_arch.tables import picked_table, tsv

__all__ = [
    "HEAD",
    "NARROW_HEAD",
    "WIDE_TABLE",
    "report_markdown",
    "report_table",
    "report_tsv",
    "row_cells",
]

HEAD = (
    "variant",
    "p50 ms",
    "p99 ms",
    "TTFT p50",
    "TTFT p99",
    "req/s",
    "429 %",
    "$ / 1k req",
)
NARROW_HEAD = ("variant", "p50 ms", "p99 ms", "TTFT p50", "req/s", "$ / 1k req")
"""The columns kept on a terminal under :data:`WIDE_TABLE` columns (80 fits them)."""
WIDE_TABLE = 100


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def row_cells(result: VariantResult) -> tuple[str, ...]:
    """The table's cells for one variant (its figures at the highest concurrency)."""
    head = result.headline
    if head is None or result.status != "measured":
        label = "not built" if result.status == "not built" else "failed"
        return (result.id, label, *("–" for _ in HEAD[2:]))
    return (
        result.id,
        _ms(head.latency_p50_ms),
        _ms(head.latency_p99_ms),
        _ms(head.ttft_p50_ms),
        _ms(head.ttft_p99_ms),
        f"{head.throughput_rps:,.1f}",
        f"{head.upstream_429_share * 100:.1f}",
        f"{head.cost_per_1k_usd:,.2f}",
    )


def _title(report: BenchReport) -> str:
    top = max(report.concurrency)
    return (
        f"bench {report.profile}: {report.model}, {report.requests} requests at concurrency "
        f"{top}, speed ×{report.speed:g}, {report.tier}"
    )


def report_table(report: BenchReport, *, narrow: bool = False) -> Table:
    """One row per variant, built or not; reasons for the ones not measured in the caption.
    ``narrow``: only :data:`NARROW_HEAD`'s columns (TTFT p99 and the 429 share left out)."""
    rows = ((row_cells(v), None if v.status == "measured" else "dim") for v in report.variants)
    shown = NARROW_HEAD if narrow else HEAD
    table = picked_table(
        HEAD, shown, rows, box=box.SIMPLE, title=_title(report), title_justify="left"
    )
    notes = [f"{v.id}: {v.reason}" for v in report.variants if v.status != "measured"]
    if narrow:
        notes.append(f"TTFT p99 and 429 %: a terminal of {WIDE_TABLE}+ columns, or --json.")
    table.caption = "\n".join(notes) or None
    table.caption_justify = "left"
    return table


def report_tsv(report: BenchReport) -> str:
    """A header and one tab-separated row per variant (numbers without thousands separators,
    for ``cut`` and ``sort``)."""
    return tsv(HEAD, (row_cells(v) for v in report.variants), numbers=True)


def report_markdown(report: BenchReport) -> str:
    """The same table in Markdown, with the conditions of the run above it."""
    machine = report.machine
    lines = [
        f"{_title(report)}; {machine.get('cores')} cores ({machine.get('cpu') or 'unknown CPU'})",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|---|" + "---:|" * (len(HEAD) - 1),
    ]
    lines += ["| " + " | ".join(row_cells(v)) + " |" for v in report.variants]
    notes = [f"- {v.id}: {v.reason}" for v in report.variants if v.status != "measured"]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"
