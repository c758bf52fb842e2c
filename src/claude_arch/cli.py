"""The ``claude-arch`` command: parsing and presentation only; behaviour lives in the layers."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from claude_arch import __version__
from claude_arch.constants import EMULATOR_DEFAULT_PORT
from claude_arch.edge.cpython.cli import edge_app  # light: the edge loads when a command runs
from claude_arch.errors import ClaudeArchError
from claude_arch.pipeline.cli import pipeline_app  # light: the ledger loads when a command runs
from claude_arch.service.tenancy.keys_cli import keys_app  # light: loads the store when run
from claude_arch.tables import tsv

if TYPE_CHECKING:
    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.emulator.config import EmulatorConfig, FaultSpec

app = typer.Typer(
    name="claude-arch",
    help="Choose and run production architectures for the Claude API.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"claude-arch {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version.", metavar=""
        ),
    ] = False,
) -> None:
    """claude-arch: choose and run production architectures for the Claude API."""


@app.command()
def models(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.", metavar="")
    ] = False,
) -> None:
    """List the model catalog: IDs, aliases, limits and list prices (USD per million tokens)."""
    from claude_arch.core.pricing.catalog import Prices, default_catalog

    catalog = default_catalog()
    names = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")

    def listed(p: Prices) -> dict[str, str | None]:  # null: not published
        return {k: None if getattr(p, k) is None else str(getattr(p, k)) for k in names}

    if as_json:
        rows = [
            {
                "id": m.id,
                "aliases": list(m.aliases),
                "family": m.family,
                "context_window": m.context_window,
                "max_output": m.max_output,
                "retires": m.retires.isoformat() if m.retires else None,
                "prices": listed(m.prices),
                "price_tiers": [
                    {"above_prompt_tokens": t.above_prompt_tokens, "prices": listed(t.prices)}
                    for t in m.price_tiers
                ],
            }
            for m in catalog
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not console.is_terminal:  # piped: one tab-separated row per price, for cut, awk, sort
        priced = (
            (m.id, above, m.context_window, m.max_output, *(getattr(prices, k) for k in names))
            for m in catalog
            for above, prices in (
                (0, m.prices),
                *((t.above_prompt_tokens, t.prices) for t in m.price_tiers),
            )
        )
        head = ("model", "prompt_above", "context", "max_output", *names)
        typer.echo(tsv(head, priced), nl=False)
        return
    narrow = console.width < _WIDE_TABLE  # 80 columns: the cache prices are left out
    shown = names[:2] if narrow else names
    table = Table(
        title="Claude models: USD per million tokens (w = cache write)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    # the model column wraps (a retirement mark goes to a second line), so that on a narrow
    # terminal it is the one that gives way, never the figures
    table.add_column("model")
    headings = ("context", "max out", "input", "output", "w 5m", "w 1h", "read")
    for col in headings[: 2 + len(shown)]:
        table.add_column(col, justify="right", no_wrap=True)

    def tokens(n: int) -> str:
        return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"

    def cells(p: Prices) -> list[str]:
        return [str(v) if (v := getattr(p, k)) is not None else "unknown" for k in shown]

    for m in catalog:
        first_tier = m.price_tiers[0].above_prompt_tokens if m.price_tiers else None
        table.add_row(
            m.id
            + (
                f" [red](retired {m.retires})[/red]"
                if m.retired()
                else f" [yellow](retires {m.retires})[/yellow]"
                if m.retires
                else ""
            )
            + (f" prompt ≤ {tokens(first_tier)}" if first_tier else ""),
            tokens(m.context_window),
            tokens(m.max_output),
            *cells(m.prices),
        )
        for t in m.price_tiers:
            table.add_row(f"  prompt > {tokens(t.above_prompt_tokens)}", "", "", *cells(t.prices))
    console.print(table)
    if narrow:
        console.print(f"Cache prices: a terminal of {_WIDE_TABLE}+ columns, or --json.")
    console.print(
        f"Message Batches bill {catalog.batch_discount:.0%} of these prices. An unknown cache "
        "price is not published; cost estimates derive it from the input price "
        "(docs/catalog.md). Aliases and families: claude-arch models --json"
    )


_WIDE_TABLE = 100
"""Columns the full models table needs; narrower terminals get it without the cache prices."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP request from the sync transport is noise on a terminal.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _advice_summary(out: Console, advice: Any) -> None:
    """The verdict under the advice table: the choice, the runner-up, why, the capacity."""
    out.print(f"recommended: [bold]{advice.recommended}[/bold] · runner-up: {advice.runner_up}")
    for reason in advice.reasons:
        out.print(f"  - {escape(reason)}", highlight=False)
    if advice.capacity_note:
        out.print(f"  capacity: {escape(advice.capacity_note)}", highlight=False)


def _fail(exc: ClaudeArchError) -> typer.Exit:
    field = getattr(exc, "field", None)
    where = f" ({field})" if field else ""
    err_console.print(
        f"[red]error[/red] {exc.error_type}{where}: {escape(str(exc))}", highlight=False
    )
    return typer.Exit(1)


def _stream_answer(
    client: SyncClaudeClient, prompt: str, *, model: str, max_tokens: int, system: str | None
) -> None:
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        params["system"] = system
    with client.stream(**params) as stream:
        for text in stream.text_stream:
            console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        message = stream.final_message()
    console.print()
    record = message.record
    usage = message.usage
    cost = f"${record.cost_usd}" if record else "n/a"
    ttft = f"{record.ttft_s * 1000:.0f} ms" if record and record.ttft_s is not None else "n/a"
    err_console.print(  # one line however narrow the terminal, or piped: grep and cut find it
        f"[dim]{message.model} · {usage.input_tokens} in / {usage.output_tokens} out tokens · "
        f"{cost} · first token {ttft} · stop {message.stop_reason}[/dim]",
        soft_wrap=True,
    )


@app.command()
def ask(
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model ID or alias; 'auto' = default.")
    ] = "auto",
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1)] = 1024,
    system: Annotated[str | None, typer.Option("--system", help="System prompt.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", metavar="")] = False,
) -> None:
    """Stream an answer, then print tokens and cost (no API key: the embedded emulator)."""
    _setup_logging(verbose)
    from claude_arch.core.sync_client import SyncClaudeClient

    try:
        with SyncClaudeClient() as client:
            _stream_answer(client, prompt, model=model, max_tokens=max_tokens, system=system)
    except ClaudeArchError as exc:
        raise _fail(exc) from None


def _parse_fault(text: str) -> FaultSpec:
    """``KIND:PROBABILITY[@MODEL]``, e.g. ``529:0.1`` or ``429:0.05@claude-opus-4-5``."""
    from pydantic import ValidationError

    from claude_arch.emulator.config import FaultKind, FaultSpec

    spec, _, model = text.partition("@")
    kind, sep, prob = spec.partition(":")
    try:
        return FaultSpec.model_validate(
            {"kind": kind, "probability": float(prob) if sep else 1.0, "model": model or "*"}
        )
    except (ValidationError, ValueError) as exc:
        raise typer.BadParameter(
            f"{text!r}: expected KIND:PROBABILITY[@MODEL] with KIND one of "
            f"{', '.join(get_args(FaultKind))} and 0 <= PROBABILITY <= 1",
            param_hint="--fault",
        ) from exc


def _emulator_config(
    *,
    host: str,
    port: int,
    speed: float,
    tier: str,
    faults: list[str],
    rules: Path | None,
    seed: int,
    api_keys: list[str],
    lenient: bool = False,
    serve_retired: bool = False,
) -> EmulatorConfig:
    from pydantic import ValidationError

    from claude_arch.core.pricing.catalog import default_catalog
    from claude_arch.emulator.config import EmulatorConfig

    if tier != "none":
        try:
            default_catalog().limits(tier)
        except ClaudeArchError as exc:
            raise typer.BadParameter(str(exc), param_hint="--tier") from None
    try:
        return EmulatorConfig(
            host=host,
            port=port,
            speed=speed,
            rate_limit_tier=tier,
            faults=[_parse_fault(f) for f in faults],
            rules_file=rules,
            seed=seed,
            api_keys=api_keys,
            lenient=lenient,
            serve_retired=serve_retired,
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None


HostOpt = Annotated[str, typer.Option("--host", help="Interface to bind.")]
PortOpt = Annotated[int, typer.Option("--port", min=0, max=65535)]
SpeedOpt = Annotated[
    float, typer.Option("--speed", min=0, help="Latency divisor: 1 realistic, 100 tests, 0 none.")
]
TierOpt = Annotated[str, typer.Option("--tier", help="Rate-limit preset: tier1..tier4, or 'none'.")]
FaultOpt = Annotated[
    list[str],
    typer.Option(
        "--fault",
        help="Inject a fault: KIND:PROBABILITY\\[@MODEL]; repeatable.",  # [ is markup
    ),
]
RulesOpt = Annotated[
    Path | None,
    typer.Option("--rules", exists=True, dir_okay=False, help="Scripted replies (TOML/JSON)."),
]


@app.command()
def emulator(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = EMULATOR_DEFAULT_PORT,
    speed: SpeedOpt = 1.0,
    tier: TierOpt = "tier4",
    fault: FaultOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    rules: RulesOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of replies and faults.")] = 0,
    api_key: Annotated[
        list[str], typer.Option("--api-key", help="Accept only these keys; repeatable.")
    ] = [],  # noqa: B006
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Accept unknown top-level request fields (clients newer than it).",
            metavar="",
        ),
    ] = False,
    serve_retired: Annotated[
        bool,
        typer.Option(
            "--serve-retired",
            help="Keep serving models past their retirement day (the API answers 404).",
            metavar="",
        ),
    ] = False,
) -> None:
    """Run the offline Anthropic-compatible API (see docs/emulator.md)."""
    _setup_logging(False)
    from claude_arch.emulator import serve

    config = _emulator_config(
        host=host,
        port=port,
        speed=speed,
        tier=tier,
        faults=fault,
        rules=rules,
        seed=seed,
        api_keys=api_key,
        lenient=lenient,
        serve_retired=serve_retired,
    )
    err_console.print(
        f"Emulator on [bold]http://{host}:{port}[/bold] · point an SDK at it with "
        f"ANTHROPIC_BASE_URL=http://{host}:{port} · stats: /_emulator/stats (any key) · "
        "Ctrl-C stops"
    )
    serve(config)


app.add_typer(keys_app, name="keys")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(edge_app, name="edge")


@app.command("serve")
def serve_service(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080).")] = None,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev", help="Development mode: no service keys (loopback only).", metavar=""
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Processes sharing the port (one per core); limits shared need Redis."
        ),
    ] = 1,
) -> None:
    """The streaming microservice: an Anthropic-compatible gateway, chat, web page, /metrics."""
    from pydantic import ValidationError

    from claude_arch.service.config import ServiceSettings
    from claude_arch.service.http.server import serve

    overrides: dict[str, object] = {"dev": True} if dev else {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    try:
        settings = ServiceSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        raise typer.BadParameter(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    if workers > 1:  # each worker process reads its settings from the environment
        os.environ.update({f"CLAUDE_ARCH_{k.upper()}": str(v) for k, v in overrides.items()})
    if sys.stderr.isatty() or settings.dev:  # in production the logs are JSON lines only
        err_console.print(_service_banner(settings), soft_wrap=True)
    serve(settings, log_level=log_level.upper(), workers=workers)


def _service_banner(settings: Any) -> str:
    base = f"http://{settings.host}:{settings.port}"
    key = "any (dev mode)" if not settings.requires_keys else "<claude-arch keys create NAME>"
    upstream = (
        "  upstream:             the embedded emulator (no ANTHROPIC_API_KEY set)\n"
        if settings.uses_emulator
        else ""
    )
    return (
        f"[bold]claude-arch service[/bold] on {base}\n"
        f"  web chat + dashboard: {base}/\n"
        f"  any official SDK:     ANTHROPIC_BASE_URL={base} ANTHROPIC_API_KEY={key}\n"
        f"  metrics:              {base}/metrics   readiness: {base}/readyz\n"
        f"{upstream}Ctrl-C stops."
    )


@app.command()
def demo(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = EMULATOR_DEFAULT_PORT,
    speed: SpeedOpt = 1.0,
    prompt: Annotated[str, typer.Option("--prompt")] = "Explain token buckets in two sentences.",
    serve_after: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve", help="Keep the emulator up after the answer.", metavar=""
        ),
    ] = False,
) -> None:
    """A first look: the emulator on HOST:PORT and one streamed answer through the client; it
    ends there unless --serve keeps the emulator up (`make run` runs the service instead)."""
    _setup_logging(False)
    import threading

    from claude_arch.core.sync_client import SyncClaudeClient
    from claude_arch.testing import start_embedded

    config = _emulator_config(
        host=host, port=port, speed=speed, tier="tier4", faults=[], rules=None, seed=0, api_keys=[]
    )
    server = start_embedded(config)
    try:
        err_console.print(f"[bold]Emulator[/bold] serving the Anthropic API at {server.url}")
        err_console.print(f"[bold]Demo[/bold] claude-arch ask {prompt!r}")
        try:
            with SyncClaudeClient(base_url=server.url, api_key=server.api_key) as client:
                _stream_answer(client, prompt, model="auto", max_tokens=512, system=None)
        except ClaudeArchError as exc:
            raise _fail(exc) from None
        if not serve_after:
            return
        err_console.print(
            "\n[bold]Where to look[/bold]\n"
            f"  ANTHROPIC_BASE_URL={server.url} ANTHROPIC_API_KEY=any  (any official SDK)\n"
            f"  curl -H 'x-api-key: any' {server.url}/v1/models\n"
            f"  curl -H 'x-api-key: any' {server.url}/_emulator/stats   (what it saw)\n"
            "  .venv/bin/claude-arch --help          (every command)\n"
            "Ctrl-C stops."
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            err_console.print("stopped")
    finally:
        server.close()


route_app = typer.Typer(
    help="Route requests to the cheapest capable model: evaluate and fit.", no_args_is_help=True
)
app.add_typer(route_app, name="route")


@route_app.command("eval")
def route_eval(
    file: Annotated[Path, typer.Argument(help='JSONL of {"prompt": ..., "tier": ...} lines.')],
    policy: Annotated[
        str, typer.Option("--policy", "-p", help="Policy file, or 'default' / 'seed-intents'.")
    ] = "default",
    classifier: Annotated[
        str | None, typer.Option("--classifier", "-c", help="rules | llm | embedding.")
    ] = None,
    output_tokens: Annotated[
        int, typer.Option("--output-tokens", min=1, help="Answer length each prompt is priced at.")
    ] = 400,
    model_file: Annotated[
        Path | None, typer.Option("--model-file", help="A model from 'route fit' (embedding).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.", metavar="")
    ] = False,
) -> None:
    """Score a router on labelled prompts: accuracy, macro-F1, confusion, routing errors, cost."""
    from claude_arch.core.routing.evaluation.commands import eval_file

    try:
        report = eval_file(
            file, policy, classifier, output_tokens=output_tokens, model_file=model_file
        )
    except ClaudeArchError as exc:
        raise _fail(exc) from None
    body = report.to_dict()
    if as_json:
        print(json.dumps(body))
        return
    summary = (
        f"{body['n']} prompts · policy {body['policy']} · classifier {body['classifier']} · "
        f"accuracy {body['accuracy']:.1%} · macro-F1 {body['macro_f1']:.3f} · "
        f"under-routing {body['under_routing']:.1%} · over-routing {body['over_routing']:.1%}"
    )
    footer = (
        f"{body['savings_vs_always_balanced']:.1%} cheaper than always balanced, priced at "
        f"{output_tokens} output tokens per prompt on each tier's first model"
    )
    costs = [("this router", body["cost_usd"])]
    costs += [
        (name.replace("_", " "), base["cost_usd"]) for name, base in body["baselines"].items()
    ]
    if not console.is_terminal:  # piped: the two tables tab-separated, the prose on stderr
        confusion = (
            (label, *(row[t] for t in report.tiers)) for label, row in report.confusion.items()
        )
        print(tsv(("label \\ routed", *report.tiers), confusion))
        print(tsv(("routing", "cost USD"), ((name, f"{cost:.6f}") for name, cost in costs)), end="")
        err_console.print(summary, highlight=False)
        err_console.print(footer, highlight=False)
        return
    console.print(summary)
    table = Table("label \\ routed", *report.tiers, box=box.SIMPLE)
    for label, row in report.confusion.items():
        table.add_row(label, *(str(row[t]) for t in report.tiers))
    console.print(table)
    costs_table = Table("routing", "cost USD", box=box.SIMPLE)
    for name, cost in costs:
        costs_table.add_row(name, f"{cost:.6f}")
    console.print(costs_table)
    console.print(footer)


@route_app.command("fit")
def route_fit(
    file: Annotated[Path, typer.Argument(help="Labelled JSONL to fit on (the train split).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model (JSON).")],
    policy: Annotated[str, typer.Option("--policy", "-p")] = "default",
    max_under_risk: Annotated[
        float,
        typer.Option(
            "--max-under-risk",
            min=0.0,
            max=1.0,
            help="Route cheaper only when P(needs a dearer tier) is at most this.",
        ),
    ] = 0.4,
    max_under_routing: Annotated[
        float | None,
        typer.Option(
            "--max-under-routing",
            min=0.0,
            max=1.0,
            help="Choose --max-under-risk (and below_confidence) by cross-validation on FILE: "
            "the most saving with at most this under-routing.",
        ),
    ] = None,
) -> None:
    """Fit the embedding classifier (pip install 'claude-arch[route]') on labelled prompts."""
    from claude_arch.core.routing.evaluation.commands import fit_file

    try:
        fitted = fit_file(file, out, policy, max_under_risk, max_under_routing=max_under_routing)
    except ClaudeArchError as exc:
        raise _fail(exc) from None
    if fitted.selection is not None:
        c = fitted.selection.chosen
        head = (
            "the logistic model alone"
            if c.head is None
            else f"logistic + kNN (weight {c.head.weight:g}, k {c.head.k}, "
            f"temperature {c.head.temperature:g})"
        )
        console.print(
            f"cross-validated ({fitted.selection.repeats} x {fitted.selection.folds} folds): "
            f"{head}, below_confidence {c.below_confidence:g}, "
            f"max_under_risk {c.max_under_risk:g}: "
            f"{c.saving:.1%} below always-balanced, under-routing {c.under_routing:.1%}"
        )
    console.print(f"fitted on {fitted.examples} prompts: {out}")


@app.command()
def advise(
    profile: Annotated[
        Path | None, typer.Argument(help="Workload profile (YAML); flags override its fields.")
    ] = None,
    rpm: Annotated[float | None, typer.Option("--rpm", help="Mean requests per minute.")] = None,
    peak_rpm: Annotated[float | None, typer.Option("--peak-rpm")] = None,
    input_tokens: Annotated[int | None, typer.Option("--input-tokens", help="Median.")] = None,
    output_tokens: Annotated[int | None, typer.Option("--output-tokens", help="Median.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="tier1..tier4.")] = None,
    budget: Annotated[float | None, typer.Option("--budget-usd", help="Per month.")] = None,
    tolerance: Annotated[str | None, typer.Option("--tolerance", help="30s, 5m, 2h, 1d.")] = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Capacity plan and bill.", metavar="")
    ] = False,
    variant: Annotated[
        str | None, typer.Option("--variant", help="Plan this variant, not the recommended.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.", metavar="")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print Markdown.", metavar="")
    ] = False,
) -> None:
    """Recommend a variant for a workload: latency, monthly cost, capacity and complexity."""
    from claude_arch.advisor import advise as run_advice
    from claude_arch.advisor import (
        default_sources,
        load_profile,
        plan_variant,
        profile_from_data,
        render,
    )
    from claude_arch.advisor.profile_file import with_overrides

    flags = {
        "traffic.mean_rpm": rpm,
        "traffic.peak_rpm": peak_rpm,
        "tokens.input.p50": input_tokens,
        "tokens.output.p50": output_tokens,
        "models": model or None,
        "rate_limit_tier": tier,
        "budget_usd_per_month": budget,
        "delay_tolerance": tolerance,
    }
    sources = default_sources()
    try:
        if profile is None:
            checked = profile_from_data(with_overrides({}, flags), sources)
        else:
            checked = load_profile(profile, sources, flags)
        advice = run_advice(checked, sources)
        chosen = plan_variant(checked, sources, variant or advice.recommended) if plan else None
    except ClaudeArchError as exc:
        raise _fail(exc) from None
    if as_json:
        body = advice.to_dict()
        if chosen is not None:
            body["plan"] = chosen.to_dict()
        print(json.dumps(body, indent=2))
    elif markdown:
        plan_text = "" if chosen is None else "\n" + render.plan_markdown(chosen)
        print(render.advice_markdown(advice) + plan_text)
    elif not console.is_terminal:  # piped: tab-separated rows; the verdict on stderr
        print(render.advice_tsv(advice), end="")
        if chosen is not None:
            print("\n" + render.plan_tsv(chosen), end="")
        _advice_summary(err_console, advice)
    else:
        narrow = console.width < render.WIDE_TABLE
        console.print(render.advice_table(advice, narrow=narrow))
        _advice_summary(console, advice)
        if chosen is not None:
            for table in render.plan_table(chosen):
                console.print(table)


@app.command()
def bench(
    profile: Annotated[Path, typer.Argument(help="Workload profile (YAML), as for advise.")],
    requests: Annotated[int, typer.Option("--requests", help="Requests per run.")] = 100,
    concurrency: Annotated[
        str, typer.Option("--concurrency", help="Requests in flight, one run each: 1,8,32.")
    ] = "1,8,32",
    speed: Annotated[
        float, typer.Option("--speed", help="The emulator's latency divisor (time compressed).")
    ] = 20.0,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", help="Only this variant; repeatable.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object.", metavar="")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table.", metavar="")
    ] = False,
) -> None:
    """Measure every built variant against the emulator with PROFILE's traffic: latency, TTFT,
    throughput, 429s and cost per 1,000 requests (variants not built are shown as such)."""
    from claude_arch.advisor import default_sources, load_profile
    from claude_arch.advisor.measure import BenchOptions, report_html, report_table, run_bench
    from claude_arch.advisor.measure.progress import BenchProgress
    from claude_arch.advisor.measure.table import WIDE_TABLE, report_markdown, report_tsv

    try:
        levels = tuple(int(part) for part in concurrency.split(",") if part.strip())
    except ValueError:
        levels = ()
    options = BenchOptions(
        requests=requests,
        concurrency=levels,
        speed=speed,
        variants=tuple(variant) if variant else None,
    )
    try:
        checked = load_profile(profile, default_sources())
        options.check()
    except ClaudeArchError as exc:
        _fail(exc)
        raise typer.Exit(2) from None
    with BenchProgress(err_console) as progress:
        report = run_bench(checked, options, progress)
    if html is not None:
        html.write_text(report_html(report), "utf-8")
        err_console.print(f"report: {escape(str(html))}", highlight=False)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    elif markdown:
        print(report_markdown(report), end="")
    elif not console.is_terminal:  # piped: a header and tab-separated rows
        print(report_tsv(report), end="")
    else:
        console.print(report_table(report, narrow=console.width < WIDE_TABLE))


lambda_app = typer.Typer(
    help="Run the AWS Lambda handlers on this machine, under the real runtime client.",
    no_args_is_help=True,
)
app.add_typer(lambda_app, name="lambda")


@lambda_app.command("invoke")
def lambda_invoke(
    event_file: Annotated[
        Path, typer.Argument(help="The event, as JSON (an API Gateway, Function URL or SQS event).")
    ],
    handler: Annotated[
        str, typer.Option("--handler", help="http, sqs, or a module.function path.")
    ] = "http",
    timeout_s: Annotated[
        float, typer.Option("--timeout-s", min=1, help="The invocation's time limit.")
    ] = 30.0,
) -> None:
    """Invoke a handler once with EVENT_FILE and print what it answered (no API key: the
    embedded emulator); exits 1 when the function failed."""
    from claude_arch.serverless.aws_lambda.local_run import invoke_locally

    try:
        event = json.loads(event_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        console.print(f"[red]{escape(str(event_file))}: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    invocation = invoke_locally(event, handler=handler, timeout_s=timeout_s)
    print(json.dumps({"kind": invocation.kind, "payload": invocation.payload}, indent=2))
    if invocation.kind != "response":
        raise typer.Exit(1)


gcf_app = typer.Typer(
    help="Run the Google Cloud Functions on this machine, under the Functions Framework.",
    no_args_is_help=True,
)
app.add_typer(gcf_app, name="gcf")


@gcf_app.command("serve")
def gcf_serve(
    target: Annotated[
        str, typer.Option("--target", help="ask (HTTP, JSON or SSE), on_pubsub or on_task.")
    ] = "ask",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
) -> None:
    """Serve one function with functions-framework until Ctrl-C (no API key: the embedded
    emulator is the upstream)."""
    from claude_arch.errors import ConfigError
    from claude_arch.serverless.gcp.local_run import serve_locally

    try:
        code = serve_locally(target, host=host, port=port)
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
