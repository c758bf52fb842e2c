"""The benchmark as one self-contained HTML page: the table, charts as inline SVG, the details
of every run. Nothing is fetched (its own policy forbids it), no script runs; it opens offline.

    Path("bench.html").write_text(report_html(report), "utf-8")

Charts: each variant's latency distribution at the highest concurrency (cumulative), throughput
against concurrency, and cost per 1,000 requests.
"""

from __future__ import annotations

from html import escape

from claude_arch.advisor.measure.report import BenchReport, VariantResult
from claude_arch.advisor.measure.svg_charts import Series, bar_chart, line_chart
from claude_arch.advisor.measure.table import HEAD, row_cells

__all__ = ["PALETTE", "report_html"]

PALETTE = {
    "service": "#1f77b4",
    "orchestrator": "#9467bd",
    "pipeline": "#2ca02c",
    "pipeline-batch": "#8c564b",
    "serverless": "#ff7f0e",
    "edge": "#d62728",
}
_OTHER = "#7f7f7f"
_MAX_CDF_POINTS = 400

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.not-measured td { color: #777; }
.chart { width: 100%; max-width: 640px; height: auto; display: block; margin: 1rem 0; }
.chart-title { font-weight: 600; font-size: 14px; }
.tick, .legend { font-size: 12px; fill: #333; } .axis { font-size: 12px; fill: #555; }
.grid { stroke: #e5e5e5; }
.muted { color: #666; font-size: .9rem; }
"""
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _color(variant_id: str) -> str:
    return PALETTE.get(variant_id, _OTHER)


def _cdf(values: list[float]) -> list[tuple[float, float]]:
    ordered = sorted(values)
    n = len(ordered)
    stride = max(1, n // _MAX_CDF_POINTS)
    points = [(ordered[i], (i + 1) / n) for i in range(0, n, stride)]
    if points and points[-1][1] < 1:
        points.append((ordered[-1], 1.0))
    return [(0.0, 0.0), *points] if points else []


def _measured(report: BenchReport) -> list[VariantResult]:
    return [v for v in report.variants if v.status == "measured" and v.runs]


def _charts(report: BenchReport) -> str:
    measured = _measured(report)
    if not measured:
        return "<p>No variant was measured: nothing to chart.</p>"
    top = max(report.concurrency)
    latency = line_chart(
        [
            Series(
                v.id,
                _color(v.id),
                _cdf(max(v.runs, key=lambda r: r.concurrency).latencies_ms()),
                step=True,
            )
            for v in measured
        ],
        title=f"latency distribution at concurrency {top} (share of requests done by)",
        x_label="latency (ms)",
        y_label="share of requests",
        y_max=1.0,
    )
    throughput = line_chart(
        [
            Series(
                v.id, _color(v.id), [(r.concurrency, r.figures().throughput_rps) for r in v.runs]
            )
            for v in measured
        ],
        title="throughput against concurrency",
        x_label="requests in flight",
        y_label="requests per second",
        x_log=len(report.concurrency) > 1,
    )
    cost = bar_chart(
        [(v.id, v.headline.cost_per_1k_usd if v.headline else 0.0, _color(v.id)) for v in measured],
        title="cost per 1,000 requests (USD, catalog prices)",
        unit="$",
    )
    return "\n".join((latency, throughput, cost))


def _table(report: BenchReport) -> str:
    rows = []
    for v in report.variants:
        css = "" if v.status == "measured" else ' class="not-measured"'
        cells = "".join(f"<td>{escape(c)}</td>" for c in row_cells(v))
        rows.append(f"<tr{css}>{cells}</tr>")
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in HEAD)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _details(v: VariantResult) -> str:
    parts = [f'<h3 id="v-{escape(v.id)}">{escape(v.id)}: {escape(v.title)}</h3>']
    if v.status != "measured":
        parts.append(f"<p>{escape(v.status)}: {escape(v.reason)}</p>")
        return "\n".join(parts)
    parts.append(f'<p class="muted">{escape(v.how)}</p>')
    rows = []
    for r in v.runs:
        f = r.figures()
        cells = (
            str(r.concurrency), f"{f.ok}/{f.requests}", f"{f.latency_p50_ms:,.1f}",
            f"{f.latency_p99_ms:,.1f}", f"{f.ttft_p50_ms:,.1f}", f"{f.throughput_rps:,.1f}",
            f"{f.upstream_429_share * 100:.1f}", f"{f.cost_per_1k_usd:,.3f}", "; ".join(r.notes),
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = ("concurrency", "ok", "p50 ms", "p99 ms", "TTFT p50", "req/s", "429 %", "$/1k", "notes")
    parts.append(
        "<table><thead><tr>"
        + "".join(f'<th scope="col">{h}</th>' for h in head)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    for name, value in v.extras.items():
        shown = (
            ", ".join(f"{k}: {n}" for k, n in value.items())
            if isinstance(value, dict)
            else (", ".join(f"{x:,.0f}" for x in value) if isinstance(value, list) else str(value))
        )
        parts.append(f'<p class="muted">{escape(name.replace("_", " "))}: {escape(shown)}</p>')
    return "\n".join(parts)


def report_html(report: BenchReport) -> str:
    """The whole page, as text."""
    m = report.machine
    tokens = report.tokens
    conditions = (
        f"{report.requests} requests per run, drawn from the profile's token spreads "
        f"(input p50 {tokens['input_p50']:,.0f} tokens, output p50 {tokens['output_p50']:,.0f}, "
        f"cached prefix {tokens['cached_prefix']:,.0f}); model {report.model}; "
        f"concurrency {', '.join(map(str, report.concurrency))}; the emulator's latency model "
        f"at speed ×{report.speed:g} (every delay divided by it, the {report.tier} limits "
        f"multiplied by it); {m.get('cores')} cores ({m.get('cpu') or 'unknown CPU'}), "
        f"Python {m.get('python')}; started {report.started_at}."
    )
    title = f"claude-arch bench: {report.profile}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(conditions)}</p>
<p class="muted">Latency and TTFT: p50/p99 of the successful requests at the highest concurrency,
in milliseconds at this speed factor. 429 %: of the calls the emulator answered, retries
included. Cost: the usage of the answers at catalog prices. A variant that does not stream
shows its whole answer as its first token.</p>
<h2>Variants</h2>
{_table(report)}
<h2>Charts</h2>
{_charts(report)}
<h2>Runs</h2>
{"".join(_details(v) for v in report.variants)}
</body>
</html>
"""
