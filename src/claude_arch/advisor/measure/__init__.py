"""Measure the variants that exist, with a profile's traffic, against the emulator.

    from claude_arch.advisor import load_profile
    from claude_arch.advisor.measure import BenchOptions, run_bench, report_html

    report = run_bench(load_profile("examples/profiles/event-triggers.yaml"),
                       BenchOptions(requests=50, concurrency=(1, 8), speed=20))
    Path("bench.html").write_text(report_html(report))

``claude-arch bench PROFILE`` is this, with a table, ``--json`` and ``--html``. What each
variant is, and how it is driven: :mod:`.variants`; the emulator it runs against:
:mod:`.upstream`; the figures: :mod:`.figures`.
"""

from __future__ import annotations

from claude_arch.advisor.measure.bench import BenchOptions, ProgressSink, run_bench
from claude_arch.advisor.measure.errors import BenchError, BenchInputError
from claude_arch.advisor.measure.figures import Figures, Run, Sample
from claude_arch.advisor.measure.html_report import report_html
from claude_arch.advisor.measure.report import BenchReport, VariantResult
from claude_arch.advisor.measure.table import report_table

__all__ = [
    "BenchError",
    "BenchInputError",
    "BenchOptions",
    "BenchReport",
    "Figures",
    "ProgressSink",
    "Run",
    "Sample",
    "VariantResult",
    "report_html",
    "report_table",
    "run_bench",
]
